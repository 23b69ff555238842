package main

import (
	"net"
	"os"
)

// sdNotify sends state (e.g. "READY=1") to systemd when stacfs runs as a
// Type=notify service: a datagram to the unix socket named by
// $NOTIFY_SOCKET (a leading '@' is an abstract socket), the protocol of
// sd_notify(3). Without $NOTIFY_SOCKET it does nothing and reports false.
func sdNotify(state string) (bool, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return false, nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return false, err
	}
	return true, nil
}
