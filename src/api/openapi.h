/* SPDX-License-Identifier: MIT
 *
 * The OpenAPI document, generated from the route declarations (route.h) and the fragments of
 * src/api/openapi/ (base.json: the frame, conventions and shared error responses; <module>.json:
 * the schemas that module's responses name). Built once, on first use, and kept.
 */
#ifndef STREAMHUB_API_OPENAPI_H
#define STREAMHUB_API_OPENAPI_H

#include <stddef.h>

typedef struct api_openapi_fragment {
    const char *name; /* the file name without .json */
    const char *text;
} api_openapi_fragment;

/* Every fragment, from the generated build/api_modules.c, ended by {NULL, NULL}. */
extern const api_openapi_fragment api_openapi_fragments[];

/* The document as JSON text (NUL-terminated; *len without the NUL). */
const char *api_openapi_text(size_t *len);

#endif
