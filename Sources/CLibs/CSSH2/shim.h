#ifndef FERRY_CSSH2_SHIM_H
#define FERRY_CSSH2_SHIM_H
#include <libssh2.h>

/* libssh2's convenience API is function-like macros; Swift sees these instead. */
static inline LIBSSH2_SESSION *ferry_ssh2_session_init(void) {
    return libssh2_session_init();
}
static inline LIBSSH2_CHANNEL *ferry_ssh2_channel_open_session(LIBSSH2_SESSION *s, unsigned int window) {
    return libssh2_channel_open_ex(s, "session", sizeof("session") - 1, window,
                                   LIBSSH2_CHANNEL_PACKET_DEFAULT, NULL, 0);
}
static inline int ferry_ssh2_channel_exec(LIBSSH2_CHANNEL *c, const char *command) {
    return libssh2_channel_exec(c, command);
}
static inline ssize_t ferry_ssh2_channel_read(LIBSSH2_CHANNEL *c, char *buf, size_t len) {
    return libssh2_channel_read(c, buf, len);
}
static inline ssize_t ferry_ssh2_channel_read_stderr(LIBSSH2_CHANNEL *c, char *buf, size_t len) {
    return libssh2_channel_read_stderr(c, buf, len);
}
static inline ssize_t ferry_ssh2_channel_write(LIBSSH2_CHANNEL *c, const char *buf, size_t len) {
    return libssh2_channel_write(c, buf, len);
}
static inline int ferry_ssh2_channel_send_eof(LIBSSH2_CHANNEL *c) {
    return libssh2_channel_send_eof(c);
}
static inline int ferry_ssh2_userauth_publickey_fromfile(LIBSSH2_SESSION *s, const char *user,
                                                         const char *pub, const char *priv,
                                                         const char *pass) {
    return libssh2_userauth_publickey_fromfile(s, user, pub, priv, pass);
}
static inline int ferry_ssh2_channel_close(LIBSSH2_CHANNEL *c) { return libssh2_channel_close(c); }
static inline int ferry_ssh2_session_disconnect(LIBSSH2_SESSION *s, const char *why) {
    return libssh2_session_disconnect(s, why);
}
static const int FERRY_LIBSSH2_ERROR_EAGAIN = LIBSSH2_ERROR_EAGAIN;

#endif
