package main

import (
	"fmt"
	"net"
	"net/http"
	"syscall"
)

// listenAndServe is s.ListenAndServe with an optional listen(2) backlog. backlog <= 0 keeps Go's
// default (the kernel's net.core.somaxconn, 4096 on kernels since 5.4). A positive value
// reproduces a service whose accept queue is small: a node or network namespace with the old
// default somaxconn of 128, or a runtime with its own small default.
func listenAndServe(s *http.Server, backlog int) error {
	if backlog <= 0 {
		return s.ListenAndServe()
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	if err := setBacklog(ln, backlog); err != nil {
		ln.Close()
		return err
	}
	return s.Serve(ln)
}

// setBacklog calls listen(2) again on the listening socket: Linux then only updates the accept
// queue's maximum length.
func setBacklog(ln net.Listener, backlog int) error {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return fmt.Errorf("listen backlog: %T is not a TCP listener", ln)
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), backlog) }); err != nil {
		return err
	}
	if lerr != nil {
		return fmt.Errorf("listen backlog %d: %w", backlog, lerr)
	}
	return nil
}
