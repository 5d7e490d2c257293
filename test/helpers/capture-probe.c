// A test stand-in for both ends of a captured connection, compiled by the capture tests with clang.
// It reads the original destination as a transparent proxy does (getsockopt SO_ORIGINAL_DST, and
// getsockname), so the tests see what the kernel tells a proxy without depending on `weft proxy`.
//
//   capture-probe [--cgroup DIR] [--uid N] MODE ...
//     --cgroup DIR   first move this process into the cgroup v2 directory DIR (its cgroup.procs)
//     --netns PATH   then enter the network namespace PATH (/run/netns/NAME). Joined here, after the
//                    cgroup, because `ip netns exec` mounts a /sys without the cgroup hierarchy.
//     --uid N        then become uid/gid N (the proxy's UID is exempt from capture)
//   proxy OUT_PORT IN_PORT [--no-forward]
//       listen on 127.0.0.1:OUT_PORT and [::1]:OUT_PORT (outbound capture), 0.0.0.0:IN_PORT and
//       [::]:IN_PORT (inbound capture); per connection print one JSON line
//       {"peer","sockname","orig"|"orig_errno"}, then connect to the original destination and relay
//       both ways until both sides end. --no-forward: answer 'P' (original destination found) or 'N'
//       (not found) and close, printing nothing: the connect-cost loop.
//   connect IP PORT MESSAGE
//       connect, send MESSAGE, half-close, read the reply; print {"local","peer","reply"}.
//   loop N IP PORT
//       N times: connect, read one byte, close; print {"connections","proxied","other","failed","seconds"}.
//   hold N IP PORT
//       open N connections, print {"open":N}, keep them until stdin ends, then close them.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SO_ORIGINAL_DST 80

static void die(const char *what)
{
	printf("{\"error\":\"%s: %s\",\"errno\":%d}\n", what, strerror(errno), errno);
	fflush(stdout);
	exit(1);
}

static void fmt(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
		port = ntohs(a->sin_port);
		snprintf(out, n, "%s:%d", ip, port);
	} else {
		const struct sockaddr_in6 *a = (const void *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
		port = ntohs(a->sin6_port);
		snprintf(out, n, "[%s]:%d", ip, port);
	}
}

static socklen_t parse(const char *ip, const char *port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *a4 = (void *)ss;
	struct sockaddr_in6 *a6 = (void *)ss;
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(atoi(port));
		return sizeof *a4;
	}
	if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(atoi(port));
		return sizeof *a6;
	}
	fprintf(stderr, "not an address: %s\n", ip);
	exit(2);
}

static int dial(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The original destination by getsockopt: SOL_IP for IPv4 sockets, SOL_IPV6 for IPv6 ones. */
static int original_dst(int fd, int family, struct sockaddr_storage *orig, socklen_t *len)
{
	*len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memset(orig, 0, sizeof *orig);
	return getsockopt(fd, family == AF_INET ? SOL_IP : SOL_IPV6, SO_ORIGINAL_DST, orig, len);
}

static void relay(int a, int b)
{
	struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
	int open[2] = { 1, 1 };
	char buf[16384];
	while (open[0] || open[1]) {
		if (poll(p, 2, 30000) <= 0)
			return;
		for (int i = 0; i < 2; i++) {
			if (!open[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof buf);
			if (n <= 0) {
				open[i] = 0;
				p[i].fd = -1;
				shutdown(i ? a : b, SHUT_WR);
			} else if (write(i ? a : b, buf, n) != n) {
				return;
			}
		}
	}
}

static void serve(int fd, int family, int forward)
{
	struct sockaddr_storage peer, local, orig;
	socklen_t len = sizeof peer, olen;
	int found = original_dst(fd, family, &orig, &olen) == 0;
	int err = found ? 0 : errno;
	if (!forward) {
		if (write(fd, found ? "P" : "N", 1) != 1) {
		}
		close(fd);
		return;
	}
	char p[80], l[80], o[80];
	getpeername(fd, (void *)&peer, &len);
	len = sizeof local;
	getsockname(fd, (void *)&local, &len);
	fmt(&peer, p, sizeof p);
	fmt(&local, l, sizeof l);
	if (found) {
		fmt(&orig, o, sizeof o);
		printf("{\"peer\":\"%s\",\"sockname\":\"%s\",\"orig\":\"%s\"}\n", p, l, o);
	} else {
		printf("{\"peer\":\"%s\",\"sockname\":\"%s\",\"orig_errno\":%d}\n", p, l, err);
	}
	fflush(stdout);
	if (!found) {
		close(fd);
		return;
	}
	if (fork() == 0) {
		int up = dial(&orig, olen);
		if (up >= 0)
			relay(fd, up);
		_exit(0);
	}
	close(fd);
}

static int listen_on(const char *ip, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = parse(ip, port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (void *)&ss, len) < 0 || listen(fd, 1024) < 0)
		die("listen");
	return fd;
}

static int proxy(const char *out_port, const char *in_port, int forward)
{
	signal(SIGCHLD, SIG_IGN);
	struct pollfd l[4] = {
		{ listen_on("127.0.0.1", out_port), POLLIN, 0 },
		{ listen_on("::1", out_port), POLLIN, 0 },
		{ listen_on("0.0.0.0", in_port), POLLIN, 0 },
		{ listen_on("::", in_port), POLLIN, 0 },
	};
	printf("{\"listening\":[%s,%s]}\n", out_port, in_port);
	fflush(stdout);
	for (;;) {
		if (poll(l, 4, -1) < 0 && errno != EINTR)
			die("poll");
		for (int i = 0; i < 4; i++)
			if (l[i].revents & POLLIN) {
				int fd = accept(l[i].fd, NULL, NULL);
				if (fd >= 0)
					serve(fd, i % 2 ? AF_INET6 : AF_INET, forward);
			}
	}
}

static int client(const char *ip, const char *port, const char *msg)
{
	struct sockaddr_storage ss, local, peer;
	socklen_t len = parse(ip, port, &ss);
	int fd = dial(&ss, len);
	if (fd < 0)
		die("connect");
	char l[80], p[80], reply[4096] = "";
	len = sizeof local;
	getsockname(fd, (void *)&local, &len);
	len = sizeof peer;
	getpeername(fd, (void *)&peer, &len);
	fmt(&local, l, sizeof l);
	fmt(&peer, p, sizeof p);
	if (write(fd, msg, strlen(msg)) < 0)
		die("write");
	shutdown(fd, SHUT_WR);
	size_t got = 0;
	ssize_t n;
	while (got < sizeof reply - 1 && (n = read(fd, reply + got, sizeof reply - 1 - got)) > 0)
		got += n;
	reply[got] = 0;
	for (char *c = reply; *c; c++)
		if (*c == '"' || *c == '\\' || *c < ' ')
			*c = '_';
	printf("{\"local\":\"%s\",\"peer\":\"%s\",\"reply\":\"%s\"}\n", l, p, reply);
	return 0;
}

static int loop(long n, const char *ip, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = parse(ip, port, &ss);
	long proxied = 0, other = 0, failed = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		int fd = dial(&ss, len);
		if (fd < 0) {
			failed++;
			continue;
		}
		char c = 0;
		if (read(fd, &c, 1) == 1 && c == 'P')
			proxied++;
		else
			other++;
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("{\"connections\":%ld,\"proxied\":%ld,\"other\":%ld,\"failed\":%ld,\"seconds\":%.6f}\n", n, proxied, other, failed, s);
	return 0;
}

static int hold(long n, const char *ip, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = parse(ip, port, &ss);
	int *fds = calloc(n, sizeof *fds);
	for (long i = 0; i < n; i++)
		if ((fds[i] = dial(&ss, len)) < 0)
			die("connect");
	printf("{\"open\":%ld}\n", n);
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof buf) > 0) {
	}
	for (long i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
		if (!strcmp(argv[i], "--cgroup")) {
			char path[4096];
			snprintf(path, sizeof path, "%s/cgroup.procs", argv[i + 1]);
			FILE *f = fopen(path, "w");
			if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) != 0)
				die("join cgroup");
		} else if (!strcmp(argv[i], "--netns")) {
			int fd = open(argv[i + 1], O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
				die("enter netns");
			close(fd);
		} else if (!strcmp(argv[i], "--uid")) {
			int uid = atoi(argv[i + 1]);
			if (setgid(uid) < 0 || setuid(uid) < 0)
				die("setuid");
		} else {
			break;
		}
	}
	const char *mode = i < argc ? argv[i] : "";
	if (!strcmp(mode, "proxy") && i + 2 < argc)
		return proxy(argv[i + 1], argv[i + 2], !(i + 3 < argc && !strcmp(argv[i + 3], "--no-forward")));
	if (!strcmp(mode, "connect") && i + 3 < argc)
		return client(argv[i + 1], argv[i + 2], argv[i + 3]);
	if (!strcmp(mode, "loop") && i + 3 < argc)
		return loop(atol(argv[i + 1]), argv[i + 2], argv[i + 3]);
	if (!strcmp(mode, "hold") && i + 3 < argc)
		return hold(atol(argv[i + 1]), argv[i + 2], argv[i + 3]);
	fprintf(stderr, "usage: capture-probe [--cgroup DIR] [--netns PATH] [--uid N] proxy OUT_PORT IN_PORT [--no-forward] | connect IP PORT MSG | loop N IP PORT | hold N IP PORT\n");
	return 2;
}
