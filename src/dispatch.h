/* dispatch.h — applies the route table's rules around a handler: routing, listener checks,
 * authentication, rate limits, query and body validation, response caching, the error envelope,
 * and the access log and metrics. Handlers never repeat these. */
#ifndef GH_DISPATCH_H
#define GH_DISPATCH_H

struct request;

void dispatch(struct request *r);
/* The response head ("Status: …\r\n…\r\n\r\n") for r, once dispatch has run. */
void dispatch_render_head(struct request *r, struct buf *head);

#endif
