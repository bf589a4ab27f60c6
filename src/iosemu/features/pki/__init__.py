"""Public key infrastructure: RSA keys, trustpoints, the certificate server, SCEP."""
