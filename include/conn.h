/*
 * One client connection: the loop that moves bytes between a transport
 * and a session, with the idle timeout.  Standalone, inetd and systemd
 * launches all end up here.
 */
#ifndef POP3D_CONN_H
#define POP3D_CONN_H

#include "conf.h"
#include "transport.h"

/*
 * Serve one POP3 session over t until the session ends it (QUIT, too many
 * errors), the client leaves, or the idle timeout fires.  peer names the
 * client in log lines.  Returns 0 when the session ended it, -1 otherwise
 * (already logged).
 */
int	conn_serve(const struct conf *, struct transport *t, const char *peer);

#endif
