/* netprobe.c HOST_PORT - what network does this process see?
 *   ifaces=lo,...        interfaces listed in /proc/net/dev
 *   routes=N             IPv4 routes in /proc/net/route
 *   routes6=N            IPv6 routes other than loopback/local/multicast
 *   sys_class_net=present|absent
 *   loopback_self=ok|E   listen on 127.0.0.1 and connect to it (lo is up)
 *   host_port=ok|E       connect to 127.0.0.1:HOST_PORT, where the test
 *                        listens on the host: must fail in a fresh netns
 *   testnet=E|skipped    connect to 192.0.2.1:80 (TEST-NET-1). Only tried
 *                        when no route exists besides loopback, so the
 *                        kernel refuses locally (ENETUNREACH) and no packet
 *                        can leave; with any route we refuse to try. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "unknown";
}

static int list_ifaces(void)
{
	char line[512];
	int non_lo = 0, first = 1;
	FILE *f = fopen("/proc/net/dev", "re");
	printf("ifaces=");
	if (!f) {
		printf("unreadable(%s)\n", ename(errno));
		return 1;
	}
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		char *name = line + strspn(line, " ");
		printf("%s%s", first ? "" : ",", name);
		first = 0;
		if (strcmp(name, "lo"))
			non_lo++;
	}
	fclose(f);
	printf("\n");
	return non_lo;
}

static int count_routes(const char *path, int v6)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		if (!v6) {
			if (strncmp(line, "Iface", 5))
				n++;
			continue;
		}
		/* ipv6_route: the last field is the device; lo routes are the
		 * loopback's own, anything else could carry a packet out. */
		size_t len = strcspn(line, "\n");
		line[len] = 0;
		char *dev = strrchr(line, ' ');
		if (dev && strcmp(dev + 1, "lo"))
			n++;
	}
	fclose(f);
	return n;
}

static int try_connect(in_addr_t addr, unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	sa.sin_addr.s_addr = addr;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	int e = rc < 0 ? errno : 0;
	close(fd);
	return e;
}

static int loopback_self(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int e = errno;
		close(fd);
		return e;
	}
	int e = try_connect(htonl(INADDR_LOOPBACK), ntohs(sa.sin_port));
	close(fd);
	return e;
}

int main(int argc, char **argv)
{
	struct stat st;
	unsigned host_port = argc > 1 ? (unsigned)atoi(argv[1]) : 0;
	int non_lo = list_ifaces();
	int routes = count_routes("/proc/net/route", 0);
	int routes6 = count_routes("/proc/net/ipv6_route", 1);
	printf("routes=%d\nroutes6=%d\n", routes, routes6);
	printf("sys_class_net=%s\n",
	       stat("/sys/class/net", &st) == 0 ? "present" : "absent");
	int e = loopback_self();
	printf("loopback_self=%s\n", e ? ename(e) : "ok");
	if (host_port) {
		e = try_connect(htonl(INADDR_LOOPBACK), host_port);
		printf("host_port=%s\n", e ? ename(e) : "ok");
	}
	if (non_lo == 0 && routes == 0 && routes6 == 0) {
		e = try_connect(inet_addr("192.0.2.1"), 80);
		printf("testnet=%s\n", e ? ename(e) : "ok");
	} else {
		printf("testnet=skipped\n");
	}
	return 0;
}
