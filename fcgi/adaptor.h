/*
 * adaptor.h — FastCGI ⇄ struct request / struct response.
 * The only code in the product that touches FCGX_Request streams.
 */
#ifndef RP_FCGI_ADAPTOR_H
#define RP_FCGI_ADAPTOR_H

#include <fcgiapp.h>

#include "http/http.h"

/* Fill req from the FastCGI params and body (at most HTTP_MAX_BODY bytes). */
void adaptor_read(FCGX_Request *fr, struct request *req);
/* Write status line, headers and (unless HEAD) the body. */
void adaptor_write(FCGX_Request *fr, const struct request *req, const struct response *res);

#endif
