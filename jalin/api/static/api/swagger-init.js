/* Starts Swagger UI from an external file (the CSP allows no inline script). With session
   authentication, "Try it out" requests carry the CSRF token; with a bearer token (the
   Authorize button) no CSRF is needed. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("swagger-settings").textContent);
  var csrfToken = document.body.dataset.csrfToken;
  config.dom_id = "#swagger-ui";
  config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  config.requestInterceptor = function (request) {
    if (csrfToken) {
      request.headers["X-CSRFToken"] = csrfToken;
    }
    return request;
  };
  window.ui = SwaggerUIBundle(config);
})();
