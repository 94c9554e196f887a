"""Network I/O: the HTTP/1.1 server and route table, WebSocket connections, credentials."""
