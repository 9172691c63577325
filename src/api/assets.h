/* SPDX-License-Identifier: MIT
 *
 * Static files compiled into the binary (see scripts/embed.py): the OpenAPI document, the docs
 * page and the Swagger UI files from the npm package swagger-ui-dist.
 */
#ifndef STREAMHUB_API_ASSETS_H
#define STREAMHUB_API_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

/* By file name ("openapi.json", "swagger-ui-bundle.js", ...); false when unknown. */
bool asset_get(const char *name, const unsigned char **data, size_t *len);

#endif
