#!/bin/sh
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
# Build pop3d and run a demo server in the foreground: POP3 with STLS on
# 127.0.0.1:11110 and implicit TLS (the port-995 way) on 127.0.0.1:11995,
# user "demo" (password "demo") and a few messages.  Ctrl-C stops it.
# Everything it makes, a self-signed certificate included, lives in a
# fresh temporary directory.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
port=${POP3D_DEMO_PORT:-11110}
tls_port=${POP3D_DEMO_TLS_PORT:-11995}

if [ "${1:-}" != "--no-build" ]; then
	sh tools/deps.sh build
	make pop3d
fi

dir=$(mktemp -d /tmp/pop3d-demo.XXXXXX)
mkdir "$dir/mail"
# A certificate for "localhost" and 127.0.0.1, valid for a month.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 30 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/demo.key" -out "$dir/demo.crt" 2>/dev/null
chmod 600 "$dir/demo.key"
hash=$(openssl passwd -6 demo)
printf 'demo:%s\n' "$hash" > "$dir/passwd"

now=$(LC_ALL=C date -u '+%a %b %e %H:%M:%S %Y')
msg() {
	printf 'From demo-sender@example.org %s\n' "$now"
	printf 'From: Demo Sender <demo-sender@example.org>\n'
	printf 'To: demo@localhost\n'
	printf 'Subject: %s\n' "$1"
	printf 'Message-ID: <%s.%s@example.org>\n' "$2" "$$"
	printf 'Date: %s\n\n' "$(LC_ALL=C date -R)"
	printf '%s\n\n' "$3"
}
{
	msg "Welcome to pop3d" 1 "This is the first demo message."
	msg "A second message" 2 "Lines starting with a dot are byte-stuffed:
.like this one."
	msg "Third and last" 3 "Delete me with DELE 3, then QUIT."
} > "$dir/mail/demo"

{
	echo "# pop3d demo configuration (made by tools/demo.sh)"
	echo "listen 127.0.0.1:$port"
	echo "listen_tls 127.0.0.1:$tls_port"
	echo "tls_cert $dir/demo.crt"
	echo "tls_key $dir/demo.key"
	echo "passwd_file $dir/passwd"
	echo "mailbox $dir/mail/%u"
} > "$dir/pop3d.conf"

if [ "$(id -u)" -eq 0 ]; then
	# pop3d never serves clients as root: give it an account to become.
	echo "user nobody" >> "$dir/pop3d.conf"
	chown -R nobody: "$dir"
	chmod 755 "$dir"
fi

cat <<TXT

pop3d demo: user "demo", password "demo", 3 messages in $dir/mail/demo

It runs on pop3d's defaults, so it deletes mail as a real server would:
at QUIT, every message the session retrieved with RETR and every one
marked with DELE is removed from the mailbox (expire 0, CAPA says
"EXPIRE 0").  LIST, UIDL and TOP remove nothing, nor does a session that
ends without QUIT.  Start the demo again for fresh mail.  Sites whose
users leave mail on the server set "expire never" (pop3d.conf.example).

TLS uses a self-signed certificate: $dir/demo.crt

  Implicit TLS, as on port 995:
    openssl s_client -connect 127.0.0.1:$tls_port -CAfile $dir/demo.crt -crlf
    curl --cacert $dir/demo.crt pop3s://demo:demo@localhost:$tls_port/
    curl --cacert $dir/demo.crt pop3s://demo:demo@localhost:$tls_port/1
        (lists the messages; retrieves message 1, which QUIT then removes)
  STLS on the plain port:
    openssl s_client -starttls pop3 -connect 127.0.0.1:$port -CAfile $dir/demo.crt -crlf
    curl --ssl-reqd --cacert $dir/demo.crt pop3://demo:demo@localhost:$port/
  Plain text (allowed from loopback only, plaintext_auth local):
    telnet 127.0.0.1 $port      then: USER demo / PASS demo / LIST / RETR 1 / QUIT

Log lines follow below.  Ctrl-C stops the server.

TXT
exec "$top/pop3d" -d -f "$dir/pop3d.conf"
