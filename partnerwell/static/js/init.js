// Runs first in <body>: lets GOV.UK Frontend style components for JavaScript.
document.body.className += " js-enabled" +
  ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
