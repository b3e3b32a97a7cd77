/* dockerapi: the HTTP/1.1-over-AF_UNIX client against a peer on a real unix socket that answers as the engine
 * does (204 with no body; an error status with {"message": ...}), and against peers that misbehave: not HTTP,
 * never answering, not there. The real engine is exercised by tests/integration/docker.sh. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "rigwatch/dockerapi.h"
#include "rw_test.h"

static const char *ID = "274c16388c822fea9bb7c9f63901fadaef2c37528bb0ed151a325ef36dce93ae";
static char sock_path[108];
static char req_path[128];

/* A peer that accepts one connection, records the request head in req_path and answers `reply` (NULL: never
 * answers, holds the connection until killed). Returns its pid once it listens. */
static pid_t peer(const char *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unlink(sock_path);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(l >= 0);
	CU_ASSERT_FATAL(bind(l, (struct sockaddr *)&sa, sizeof sa) == 0);
	CU_ASSERT_FATAL(listen(l, 4) == 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		rw_test_child_detach();
		int c = accept(l, NULL, NULL);
		char buf[2048];
		size_t got = 0;
		while (got < sizeof buf - 1) {
			ssize_t n = read(c, buf + got, sizeof buf - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		FILE *f = fopen(req_path, "w");
		if (f) {
			fwrite(buf, 1, got, f);
			fclose(f);
		}
		if (!reply)
			for (;;)
				pause();
		if (write(c, reply, strlen(reply)) < 0)
			_exit(1);
		close(c);
		_exit(0);
	}
	close(l);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void read_request(char *buf, size_t len)
{
	FILE *f = fopen(req_path, "r");
	buf[0] = '\0';
	if (!f)
		return;
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void test_pause_and_kill_ok(void)
{
	char detail[400], req[2048];
	pid_t p = peer("HTTP/1.1 204 No Content\r\nApi-Version: 1.41\r\nServer: Docker/20.10.24\r\n\r\n");
	CU_ASSERT_EQUAL(rw_docker_pause(sock_path, ID, detail, sizeof detail), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "POST /containers/274c16388c82/pause: 204"));
	reap(p);
	read_request(req, sizeof req);
	CU_ASSERT_PTR_NOT_NULL(strstr(req, "POST /containers/274c16388c822fea9bb7c9f63901fadaef2c37528bb0ed151a325ef36dce93ae/pause HTTP/1.1\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(req, "\r\nHost: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(req, "\r\nConnection: close\r\n"));

	p = peer("HTTP/1.1 204 No Content\r\n\r\n");
	CU_ASSERT_EQUAL(rw_docker_kill(sock_path, ID, detail, sizeof detail), 0);
	reap(p);
	read_request(req, sizeof req);
	CU_ASSERT_PTR_NOT_NULL(strstr(req, "/kill?signal=KILL HTTP/1.1\r\n"));
}

static void test_engine_refuses(void)
{
	char detail[400];
	pid_t p = peer("HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 62\r\n\r\n"
		       "{\"message\":\"Container 274c16388c82 is not running\\u001b[0m\"}\n");
	CU_ASSERT_EQUAL(rw_docker_pause(sock_path, ID, detail, sizeof detail), -EREMOTEIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, ": 409 Container 274c16388c82 is not running?[0m"));
	reap(p);
}

static void test_not_http_and_silent(void)
{
	int status;
	char body[64];
	pid_t p = peer("SSH-2.0-OpenSSH_9.2\r\n");
	CU_ASSERT_EQUAL(rw_docker_request(sock_path, "POST", "/x", 60000, &status, body, sizeof body), -EPROTO);
	reap(p);
	/* accepts and never answers: the bounded wait ends it */
	p = peer(NULL);
	CU_ASSERT_EQUAL(rw_docker_request(sock_path, "POST", "/x", 300, &status, body, sizeof body), -ETIMEDOUT);
	reap(p);
}

static void test_unreachable(void)
{
	char detail[400];
	unlink(sock_path);
	CU_ASSERT_EQUAL(rw_docker_pause(sock_path, ID, detail, sizeof detail), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "unreachable"));
	/* a socket nobody listens on */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(bind(l, (struct sockaddr *)&sa, sizeof sa) == 0);
	close(l);
	CU_ASSERT_EQUAL(rw_docker_kill(sock_path, ID, detail, sizeof detail), -ECONNREFUSED);
	unlink(sock_path);
	/* not a container id: nothing sent */
	CU_ASSERT_EQUAL(rw_docker_kill(sock_path, "../../v1.41/containers/x", detail, sizeof detail), -EINVAL);
}

static const rw_test tests[] = {
	RW_TEST(test_pause_and_kill_ok),
	RW_TEST(test_engine_refuses),
	RW_TEST(test_not_http_and_silent),
	RW_TEST(test_unreachable),
	{ NULL, NULL },
};

int main(void)
{
	snprintf(sock_path, sizeof sock_path, "/tmp/rwtest_dockerapi.%d.sock", (int)getpid());
	snprintf(req_path, sizeof req_path, "/tmp/rwtest_dockerapi.%d.req", (int)getpid());
	int r = rw_test_main("dockerapi", tests);
	unlink(sock_path);
	unlink(req_path);
	return r;
}
