/* webconfig: the --web.config.file of the HTTP endpoint, in the format of the Prometheus exporter-toolkit (the file
 * node_exporter and Prometheus itself take), restricted to what rigwatch serves:
 *
 *   tls_server_config:
 *     cert_file: /etc/rigwatch/tls.crt      # PEM certificate (chain); relative paths are relative to this file
 *     key_file: /etc/rigwatch/tls.key       # PEM private key
 *   basic_auth_users:
 *     prometheus: $2b$10$...                # bcrypt hash ($2a$, $2b$ or $2y$), as htpasswd -B makes
 *
 * Both sections are optional; an empty file changes nothing. The YAML accepted is the block-mapping subset these
 * files use: two-level `key: value` with space indentation, plain, 'single' or "double" quoted scalars without
 * escapes, `#` comments, an optional leading `---`. Anything else (an unknown or unsupported key such as
 * client_auth_type or http_server_config, a repeated key, tabs, flow syntax, a cert without a key, a hash that is
 * not bcrypt) is an error naming file:line, and nothing is loaded. */
#ifndef RIGWATCH_WEBCONFIG_H
#define RIGWATCH_WEBCONFIG_H

#include <stddef.h>

#include "rigwatch/config.h"

#define RW_WEB_MAX_USERS 64
#define RW_WEB_NAME_LEN  128
#define RW_WEB_HASH_LEN  64   /* a bcrypt hash is 60 characters */

struct rw_web_user {
	char name[RW_WEB_NAME_LEN];
	char hash[RW_WEB_HASH_LEN];
};

struct rw_webconfig {
	char cert_file[RW_CONFIG_PATH_LEN];   /* "" = no TLS; else key_file is set too */
	char key_file[RW_CONFIG_PATH_LEN];
	unsigned n_users;                     /* 0 = no authentication */
	struct rw_web_user users[RW_WEB_MAX_USERS];
};

/* Parse text; `name` is the file name used in messages and the base of relative paths. Returns 0, or -EINVAL
 * with "name:line: message" in err and *wc zeroed. */
int rw_webconfig_parse(struct rw_webconfig *wc, const char *name, const char *text, char *err, size_t errlen);

/* Read and parse a file (a regular file of at most 64 KiB), then check that the certificate and key, if any,
 * are readable. Returns 0 or a negative errno with err set. */
int rw_webconfig_load(struct rw_webconfig *wc, const char *path, char *err, size_t errlen);

/* Is `hash` a bcrypt hash this parser accepts ($2a$, $2b$ or $2y$, cost 04..31, 53 characters of salt and
 * digest from the bcrypt alphabet)? */
int rw_webconfig_is_bcrypt(const char *hash);

#endif
