//! The server's syslog listener (`serve --syslog-listen udp://ADDR:PORT,tcp://ADDR:PORT`):
//! UDP datagrams and TCP streams (RFC 6587 octet counting or newline framing), each sender
//! mapped to an agent by `[[syslog.agents]]`, fed to [`crate::ingest::ingest`] in batches.
