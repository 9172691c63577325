// Starts Swagger UI on the document the server publishes (kept out of docs.html so the page's
// Content-Security-Policy needs no 'unsafe-inline' scripts).
window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
