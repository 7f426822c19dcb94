/* ids: SHA-256 and base64 against published vectors and against coreutils' sha256sum/base64,
 * and the id composition of docs/protocol.md §2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "ids/ids.h"

static char tmp_path[] = "/tmp/swp-test-ids-XXXXXX";

/* Runs `tool < file holding data[0..n)` and returns its first word (static buffer). */
static const char *external(const char *tool, const void *data, size_t n)
{
	static char line[4096];
	FILE *f = fopen(tmp_path, "wb");
	if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
		perror(tmp_path);
		exit(2);
	}
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "%s < %s", tool, tmp_path);
	FILE *p = popen(cmd, "r");
	line[0] = 0;
	if (!p || !fgets(line, sizeof(line), p)) {
		fprintf(stderr, "could not run %s\n", cmd);
		exit(2);
	}
	pclose(p);
	line[strcspn(line, " \n")] = 0;
	return line;
}

static const char *sha_hex(const void *data, size_t n)
{
	static char s[SWP_PROCESS_ID_SIZE];
	uint8_t d[SWP_SHA256_LEN];
	swp__sha256(data, n, d);
	for (int i = 0; i < SWP_SHA256_LEN; i++)
		sprintf(s + 2 * i, "%02x", d[i]);
	return s;
}

static const char *b64(const char *s)
{
	static struct swp_buf b;
	swp__buf_reset(&b);
	swp__base64(s, strlen(s), &b);
	swp__buf_putc(&b, 0); /* data stays non-NULL for "" */
	return b.data;
}

static void test_sha256_vectors(void)
{
	CHECK_EQ_INT(swp__sha256_selftest(), 0);
	CHECK_EQ_STR(sha_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK_EQ_STR(sha_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	CHECK_EQ_STR(sha_hex(two_blocks, strlen(two_blocks)),
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	/* one million 'a', fed in uneven pieces through the streaming interface */
	struct swp_sha256 s;
	uint8_t d[SWP_SHA256_LEN];
	char a[1000];
	memset(a, 'a', sizeof(a));
	swp__sha256_init(&s);
	for (size_t done = 0, step = 1; done < 1000000; step = step % 997 + 1) {
		size_t n = 1000000 - done < step ? 1000000 - done : step;
		swp__sha256_update(&s, a, n);
		done += n;
	}
	swp__sha256_final(&s, d);
	char got[SWP_PROCESS_ID_SIZE];
	for (int i = 0; i < SWP_SHA256_LEN; i++)
		sprintf(got + 2 * i, "%02x", d[i]);
	CHECK_EQ_STR(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Every length around the padding boundaries (55/56/63/64 and the second block), against sha256sum. */
static void test_sha256_lengths(void)
{
	uint8_t data[200];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + 7);
	static const size_t lens[] = {1, 2, 54, 55, 56, 57, 63, 64, 65, 111, 119, 120, 127, 128, 129, 200};
	for (size_t i = 0; i < SWP_ARRAY_SIZE(lens); i++) {
		char want[SWP_PROCESS_ID_SIZE];
		snprintf(want, sizeof(want), "%s", external("sha256sum", data, lens[i]));
		CHECK_EQ_STR(sha_hex(data, lens[i]), want);
	}
}

static void test_base64(void)
{
	CHECK_EQ_STR(b64(""), "");
	CHECK_EQ_STR(b64("f"), "Zg==");
	CHECK_EQ_STR(b64("fo"), "Zm8=");
	CHECK_EQ_STR(b64("foo"), "Zm9v");
	CHECK_EQ_STR(b64("foob"), "Zm9vYg==");
	CHECK_EQ_STR(b64("fooba"), "Zm9vYmE=");
	CHECK_EQ_STR(b64("foobar"), "Zm9vYmFy");
	CHECK_EQ_STR(b64("\xff\xfe\xfd"), "//79"); /* the two non-alphanumeric digits */
	/* a long UTF-8 name: no line wrapping */
	const char *s = "服务-a-rather-long-service-name-that-would-wrap-a-mime-encoder-at-76-columns";
	char want[256];
	snprintf(want, sizeof(want), "%s", external("base64 -w0", s, strlen(s)));
	CHECK_EQ_STR(b64(s), want);
}

static void test_ids(void)
{
	struct swp_buf svc = {0}, inst = {0};
	CHECK_EQ_STR(swp__service_id("sqrt", &svc), "c3FydA==.1");
	CHECK_EQ_STR(swp__service_id("", &svc), ".1");

	/* composition, with base64 and sha256 computed by coreutils */
	const char *service = "订单-service", *instance = "host-1.example", *process = "java";
	char want_svc[256], want_inst[512], want_proc[SWP_PROCESS_ID_SIZE], joined[1024], pid[SWP_PROCESS_ID_SIZE];
	snprintf(want_svc, sizeof(want_svc), "%s.1", external("base64 -w0", service, strlen(service)));
	CHECK_EQ_STR(swp__service_id(service, &svc), want_svc);
	snprintf(want_inst, sizeof(want_inst), "%s_%s", want_svc, external("base64 -w0", instance, strlen(instance)));
	CHECK_EQ_STR(swp__instance_id(svc.data, instance, &inst), want_inst);
	snprintf(joined, sizeof(joined), "%s_%s", process, want_inst);
	snprintf(want_proc, sizeof(want_proc), "%s", external("sha256sum", joined, strlen(joined)));
	CHECK_EQ_STR(swp__process_id(process, inst.data, pid), want_proc);
	CHECK_EQ_INT(strlen(pid), 64);

	/* base64 back to the name: ids of services nobody reported yet */
	const char *names[] = {"", "s", "sq", "sqr", "sqrt", "caf\xc3\xa9 service"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct swp_buf enc = {0}, dec = {0};
		swp__base64(names[i], strlen(names[i]), &enc);
		CHECK_EQ_INT(swp__base64_decode(enc.data ? enc.data : "", enc.len, &dec), 0);
		CHECK_EQ_STR(dec.data, names[i]);
		swp_buf_free(&enc);
		swp_buf_free(&dec);
	}
	const char *bad64[] = {"c3FydA=", "c3F=dA==", "c3FydA=a", "c3Fy*A==", "===="};
	for (size_t i = 0; i < sizeof(bad64) / sizeof(bad64[0]); i++) {
		struct swp_buf dec = {0};
		CHECK_EQ_INT(swp__base64_decode(bad64[i], strlen(bad64[i]), &dec), -EINVAL);
		swp_buf_free(&dec);
	}

	/* the buffer is replaced, not appended to */
	CHECK_EQ_STR(swp__instance_id("c3FydA==.1", "h", &inst), "c3FydA==.1_aA==");
	swp_buf_free(&svc);
	swp_buf_free(&inst);
}

/* Task and schedule ids: round trip, never a number to a YAML or JSON reader, other texts refused. */
static void test_ext_ids(void)
{
	char id[SWP_EXT_ID_SIZE];
	uint64_t back = 0;
	uint64_t samples[] = {0, 1, 2, 3, 9, 10, 255, 1000, 123456789, (1ULL << 60) - 1};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		swp__ext_id(samples[i], id);
		CHECK_EQ_INT(strlen(id), 16);
		CHECK(id[0] >= 'a' && id[0] <= 'f');
		CHECK(swp__ext_id_parse(id, &back));
		CHECK_EQ_INT(back, samples[i]);
	}
	/* consecutive numbers give unrelated-looking ids, all distinct */
	char prev[SWP_EXT_ID_SIZE] = "";
	int distinct = 0;
	for (uint64_t n = 1; n <= 20000; n++) {
		swp__ext_id(n, id);
		CHECK(swp__ext_id_parse(id, &back) && back == n);
		distinct += strcmp(id, prev) != 0;
		memcpy(prev, id, sizeof(id));
		/* a letter first, and not all digits after it: never a number, never "e5"-like */
		CHECK(id[0] >= 'a' && id[0] <= 'f');
	}
	CHECK_EQ_INT(distinct, 20000);
	swp__ext_id(1, id);
	CHECK(strcmp(id, "0000000000000001") != 0);
	/* texts it did not write */
	const char *bad[] = {"", "1", "0000000000000001", "a000000000000000x", "A000000000000001", "g000000000000001",
			     "a00000000000001"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!swp__ext_id_parse(bad[i], &back));
	/* a wrong leading letter for the same 60 bits is refused too */
	swp__ext_id(42, id);
	id[0] = id[0] == 'a' ? 'b' : 'a';
	CHECK(!swp__ext_id_parse(id, &back));
	CHECK(!swp__ext_id_parse(NULL, &back));
}

int main(void)
{
	int fd = mkstemp(tmp_path);
	if (fd < 0) {
		perror("mkstemp");
		return 2;
	}
	close(fd);
	test_sha256_vectors();
	test_sha256_lengths();
	test_base64();
	test_ids();
	test_ext_ids();
	unlink(tmp_path);
	CHECK_DONE();
}
