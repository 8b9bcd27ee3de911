/*
 * test_bucket.c: lib/source/bucket.c, s3.c, azblob.c and xml.c without a
 * server — SigV4 against AWS's published examples and botocore's output,
 * Azure's Shared Key string to sign, the listing and error documents,
 * Flux's index revision.  The servers themselves are in
 * test/integration/itest_bucket.c and test/e2e/bucket.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "harness.h"
#include "kube/http.h"
#include "source/bucket.h"
#include "source/xml.h"

#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void assert_sig(const struct s3_sign *s, const char *want)
{
	char *auth = s3__authorization(s), *sig;

	sig = strstr(auth, "Signature=");
	ASSERT_NOT_NULL(sig);
	ASSERT_STREQ(sig + 10, want);
	free(auth);
}

/* AWS S3 API reference, "Signature Calculations ... Header-Based Auth": GET Object. */
TEST(sigv4_s3_get_object_example)
{
	const char *h[] = { "host:examplebucket.s3.amazonaws.com", "range:bytes=0-9",
			    "x-amz-content-sha256:" EMPTY, "x-amz-date:20130524T000000Z", NULL };
	struct s3_sign s = { .method = "GET", .path = "/test.txt", .query = "", .headers = h,
			     .payload_hash = EMPTY, .date = "20130524T000000Z",
			     .region = "us-east-1", .service = "s3",
			     .access_key = "AKIAIOSFODNN7EXAMPLE",
			     .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
	char *auth = s3__authorization(&s);

	ASSERT_STREQ(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
			   "s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;"
			   "x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd9"
			   "1039c6036bdb41");
	free(auth);
}

/* The same page: GET Bucket (List Objects) with a query. */
TEST(sigv4_s3_list_objects_example)
{
	const char *h[] = { "host:examplebucket.s3.amazonaws.com", "x-amz-content-sha256:" EMPTY,
			    "x-amz-date:20130524T000000Z", NULL };
	struct s3_sign s = { .method = "GET", .path = "/", .query = "max-keys=2&prefix=J",
			     .headers = h, .payload_hash = EMPTY, .date = "20130524T000000Z",
			     .region = "us-east-1", .service = "s3",
			     .access_key = "AKIAIOSFODNN7EXAMPLE",
			     .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };

	assert_sig(&s, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

/* aws-sig-v4-test-suite: get-vanilla and get-vanilla-query-order-key-case. */
TEST(sigv4_test_suite_get_vanilla)
{
	const char *h[] = { "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", NULL };
	struct s3_sign s = { .method = "GET", .path = "/", .query = "", .headers = h,
			     .payload_hash = EMPTY, .date = "20150830T123600Z",
			     .region = "us-east-1", .service = "service",
			     .access_key = "AKIDEXAMPLE",
			     .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };

	assert_sig(&s, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	s.query = "Param1=value1&Param2=value2";
	assert_sig(&s, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

static char *header(const struct bucket_req *r, const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; r->headers[i]; i++)
		if (strncmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
			return r->headers[i] + n + 2;
	return NULL;
}

/*
 * Our own requests, path-style, with every awkward byte: the signatures
 * are botocore's (S3SigV4Auth) for the same URL, keys, region and time.
 */
TEST(s3_requests_match_botocore)
{
	struct bucket_opts o = { .provider = BUCKET_S3, .endpoint = "127.0.0.1:9000",
				 .bucket = "flux", .region = "eu-west-1", .prefix = "dir x/",
				 .insecure = true, .access_key = "AK", .secret_key = "SK/+=" };
	struct bucket_req rq;
	struct op_err err;
	void *st;

	ASSERT_OK(bucket_s3_ops.init(&o, &st, &err));
	s3__set_clock(st, 1796206272); /* 2026-12-02T10:11:12Z */
	ASSERT_OK(bucket_s3_ops.list_req(st, "a/b+c=", 500, &rq));
	ASSERT_STREQ(rq.url, "http://127.0.0.1:9000/flux?continuation-token=a%2Fb%2Bc%3D&"
			     "encoding-type=url&list-type=2&max-keys=500&prefix=dir%20x%2F");
	ASSERT_STREQ(header(&rq, "Host"), "127.0.0.1:9000");
	ASSERT_STREQ(header(&rq, "x-amz-date"), "20261202T101112Z");
	ASSERT_CONTAINS(header(&rq, "Authorization"),
			"Signature=8c98112ef0b88d37c6d329986115823223668690a86d97048e7bfda5e221e88a");
	bucket_req_release(&rq);
	ASSERT_OK(bucket_s3_ops.get_req(st, "dir x/\xc3\xa9t\xc3\xa9+1.yaml", &rq));
	ASSERT_STREQ(rq.url, "http://127.0.0.1:9000/flux/dir%20x/%C3%A9t%C3%A9%2B1.yaml");
	ASSERT_CONTAINS(header(&rq, "Authorization"),
			"Signature=761abc7f52519d3d912032ea751f88253f96b50395cd45c56fd66d2661cbfcff");
	bucket_req_release(&rq);
	bucket_s3_ops.free(st);
}

TEST(s3_endpoints)
{
	struct bucket_opts o = { .provider = BUCKET_S3, .bucket = "b" };
	struct bucket_req rq;
	struct op_err err;
	void *st;

	o.endpoint = "https://minio:9000";
	ASSERT_EQ(bucket_s3_ops.init(&o, &st, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "without a scheme");
	o.endpoint = "s3.eu-west-1.amazonaws.com";
	ASSERT_OK(bucket_s3_ops.init(&o, &st, &err));
	ASSERT_OK(bucket_s3_ops.get_req(st, "k", &rq));
	/* Amazon: a virtual host; no keys: unsigned. */
	ASSERT_STREQ(rq.url, "https://b.s3.eu-west-1.amazonaws.com/k");
	ASSERT_NULL(header(&rq, "Authorization"));
	bucket_req_release(&rq);
	bucket_s3_ops.free(st);
	o.endpoint = "minio.example:443";
	o.access_key = "a";
	ASSERT_EQ(bucket_s3_ops.init(&o, &st, &err), -EINVAL); /* a key without its secret */
	o.secret_key = "s";
	ASSERT_OK(bucket_s3_ops.init(&o, &st, &err));
	ASSERT_OK(bucket_s3_ops.list_req(st, NULL, 0, &rq));
	ASSERT_STREQ(rq.url, "https://minio.example/b?encoding-type=url&list-type=2");
	ASSERT_STREQ(header(&rq, "Host"), "minio.example");
	bucket_req_release(&rq);
	bucket_s3_ops.free(st);
}

struct got {
	struct buf b;
};

static int collect(const char *key, const char *etag, void *payload)
{
	struct got *g = payload;

	(void)buf_addf(&g->b, "%s=%s;", key, etag);
	return 0;
}

TEST(s3_listing_page)
{
	static const char page[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>flux</Name><Prefix></Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
		"<IsTruncated>true</IsTruncated>"
		"<Contents><Key>a%20b/c%2Bd.yaml</Key><LastModified>2026-01-01T00:00:00Z"
		"</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>"
		"<Size>0</Size></Contents>"
		"<Contents><Key>x+y</Key><ETag>\"abc-2\"</ETag></Contents>"
		"<EncodingType>url</EncodingType>"
		"<NextContinuationToken>tok/en==</NextContinuationToken></ListBucketResult>";
	struct got g = { BUF_INIT(4096) };
	struct op_err err;
	char *next = NULL;

	ASSERT_OK(bucket_s3_ops.list_parse(NULL, page, strlen(page), collect, &g, &next, &err));
	ASSERT_STREQ(g.b.buf, "a b/c+d.yaml=d41d8cd98f00b204e9800998ecf8427e;x y=abc-2;");
	ASSERT_STREQ(next, "tok/en==");
	free(next);
	buf_release(&g.b);
}

TEST(s3_listing_last_page_and_bad_pages)
{
	static const char last[] = "<ListBucketResult><IsTruncated>false</IsTruncated>"
				   "<Contents><Key>k</Key><ETag>e</ETag></Contents>"
				   "</ListBucketResult>";
	static const char no_token[] = "<ListBucketResult><IsTruncated>true</IsTruncated>"
				       "</ListBucketResult>";
	static const char doctype[] = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult>"
				      "<Contents><Key>&a;</Key></Contents></ListBucketResult>";
	struct got g = { BUF_INIT(4096) };
	struct op_err err;
	char *next = (char *)"unset";

	ASSERT_OK(bucket_s3_ops.list_parse(NULL, last, strlen(last), collect, &g, &next, &err));
	ASSERT_NULL(next);
	ASSERT_STREQ(g.b.buf, "k=e;");
	ASSERT_EQ(bucket_s3_ops.list_parse(NULL, no_token, strlen(no_token), collect, &g, &next,
					   &err), -EBADMSG);
	ASSERT_EQ(bucket_s3_ops.list_parse(NULL, doctype, strlen(doctype), collect, &g, &next,
					   &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "document type");
	ASSERT_EQ(bucket_s3_ops.list_parse(NULL, "<a><b></a>", 10, collect, &g, &next, &err),
		  -EINVAL);
	ASSERT_CONTAINS(err.msg, "invalid XML at line 1");
	buf_release(&g.b);
}

TEST(s3_errors)
{
	static const char sig[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
				  "SignatureDoesNotMatch</Code><Message>The request signature we "
				  "calculated does not match the signature you provided.</Message>"
				  "</Error>";
	static const char nob[] = "<Error><Code>NoSuchBucket</Code><Message>The specified "
				  "bucket does not exist</Message></Error>";
	static const char region[] = "<Error><Code>AuthorizationHeaderMalformed</Code><Message>"
				     "wrong region</Message><Region>eu-central-1</Region></Error>";
	struct bucket_opts o = { .provider = BUCKET_S3, .endpoint = "h:1", .bucket = "b",
				 .access_key = "a", .secret_key = "s" };
	struct http_resp resp = { .status = 403, .body = sig, .body_len = sizeof(sig) - 1 };
	struct bucket_req rq;
	bool nb = false;
	struct op_err err;
	void *st;

	ASSERT_OK(bucket_s3_ops.init(&o, &st, &err));
	ASSERT_EQ(bucket_s3_ops.error(st, &resp, "what", &nb, &err), -EACCES);
	ASSERT_STREQ(err.msg, "what: The request signature we calculated does not match the "
			      "signature you provided. (SignatureDoesNotMatch)");
	ASSERT(!nb);
	resp.status = 404;
	resp.body = nob;
	resp.body_len = sizeof(nob) - 1;
	ASSERT_EQ(bucket_s3_ops.error(st, &resp, "what", &nb, &err), -ENOENT);
	ASSERT(nb);
	resp.status = 400;
	resp.body = region;
	resp.body_len = sizeof(region) - 1;
	ASSERT_EQ(bucket_s3_ops.error(st, &resp, "what", &nb, &err), -EAGAIN);
	s3__set_clock(st, 1796206272);
	ASSERT_OK(bucket_s3_ops.get_req(st, "k", &rq));
	/* Signed for the region the server named. */
	ASSERT_CONTAINS(header(&rq, "Authorization"), "/20261202/eu-central-1/s3/aws4_request");
	bucket_req_release(&rq);
	/* Only once: a second region error is an error. */
	ASSERT_EQ(bucket_s3_ops.error(st, &resp, "what", &nb, &err), -EACCES);
	resp.status = 404;
	resp.body = "";
	resp.body_len = 0;
	ASSERT_EQ(bucket_s3_ops.error(st, &resp, "what", &nb, &err), -ENOENT);
	ASSERT(!nb);
	bucket_s3_ops.free(st);
}

/*
 * Azure's Shared Key rules: eleven empty standard headers, x-ms-* sorted,
 * the account before the path (twice for a path-style endpoint), query
 * parameters sorted by lower-cased name with decoded values.
 */
TEST(azure_string_to_sign)
{
	const char *h[] = { "x-ms-date:Wed, 02 Dec 2026 10:11:12 GMT", "x-ms-version:2021-08-06",
			    NULL };
	char *s = azblob__string_to_sign("devstoreaccount1",
					 "http://127.0.0.1:10000/devstoreaccount1/c1?restype="
					 "container&comp=list&marker=2%212%21M&maxresults=2&"
					 "prefix=a%20b%2F",
					 h);

	ASSERT_STREQ(s, "GET\n\n\n\n\n\n\n\n\n\n\n\n"
			"x-ms-date:Wed, 02 Dec 2026 10:11:12 GMT\nx-ms-version:2021-08-06\n"
			"/devstoreaccount1/devstoreaccount1/c1\ncomp:list\nmarker:2!2!M\n"
			"maxresults:2\nprefix:a b/\nrestype:container");
	free(s);
	s = azblob__string_to_sign("acct", "https://acct.blob.core.windows.net/c/a%20b/x.yaml", h);
	ASSERT_CONTAINS(s, "\n/acct/c/a%20b/x.yaml");
	ASSERT(s[strlen(s) - 1] == 'l');
	free(s);
}

TEST(azure_requests)
{
	struct bucket_opts o = { .provider = BUCKET_AZURE,
				 .endpoint = "http://127.0.0.1:10000/devstoreaccount1/",
				 .bucket = "c1", .prefix = "apps/",
				 .account_key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2"
						"UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==" };
	struct bucket_req rq;
	struct op_err err;
	void *st;

	ASSERT_OK(bucket_azure_ops.init(&o, &st, &err));
	azblob__set_clock(st, 1796206272);
	ASSERT_OK(bucket_azure_ops.list_req(st, NULL, 5000, &rq));
	ASSERT_STREQ(rq.url, "http://127.0.0.1:10000/devstoreaccount1/c1?restype=container&"
			     "comp=list&maxresults=5000&prefix=apps%2F");
	ASSERT_STREQ(header(&rq, "x-ms-date"), "Wed, 02 Dec 2026 10:11:12 GMT");
	ASSERT_CONTAINS(header(&rq, "Authorization"), "SharedKey devstoreaccount1:");
	bucket_req_release(&rq);
	bucket_azure_ops.free(st);

	/* A SAS: appended to every URL, nothing signed. */
	o.account_key = NULL;
	o.sas = "?sv=2021-08-06&sr=c&sig=abc%3D";
	o.endpoint = "https://acct.blob.core.windows.net";
	ASSERT_OK(bucket_azure_ops.init(&o, &st, &err));
	ASSERT_OK(bucket_azure_ops.get_req(st, "apps/a b.yaml", &rq));
	ASSERT_STREQ(rq.url, "https://acct.blob.core.windows.net/c1/apps/a%20b.yaml?"
			     "sv=2021-08-06&sr=c&sig=abc%3D");
	ASSERT_NULL(header(&rq, "Authorization"));
	bucket_req_release(&rq);
	bucket_azure_ops.free(st);

	o.endpoint = "https://localhost.example";
	ASSERT_EQ(bucket_azure_ops.init(&o, &st, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "to be a subdomain");
	o.endpoint = "http://127.0.0.1:10000";
	ASSERT_EQ(bucket_azure_ops.init(&o, &st, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "account name");
}

TEST(azure_listing_and_errors)
{
	static const char page[] =
		"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults "
		"ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" ContainerName=\"c\">"
		"<Prefix/><MaxResults>2</MaxResults><Blobs><Blob><Name>a &amp; b.yaml</Name>"
		"<Properties><Etag>0x8DBE3D1B1A2C3D4</Etag><Content-Length>3</Content-Length>"
		"</Properties></Blob><Blob><Name>dir/x.yaml</Name><Properties>"
		"<Etag>0x8DBE3D1B1A2C3D5</Etag></Properties></Blob></Blobs>"
		"<NextMarker>2!92!MDAw</NextMarker></EnumerationResults>";
	static const char auth[] =
		"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
		"<Message>Server failed to authenticate the request.\nRequestId:1\nTime:t</Message>"
		"<AuthenticationErrorDetail>Signed expiry time [Tue, 01 Dec 2026 00:00:00 GMT] "
		"must be after signed start time</AuthenticationErrorDetail></Error>";
	struct http_resp resp = { .status = 403, .body = auth, .body_len = sizeof(auth) - 1 };
	struct got g = { BUF_INIT(4096) };
	struct op_err err;
	char *next = NULL;
	bool nb;

	ASSERT_OK(bucket_azure_ops.list_parse(NULL, page, sizeof(page) - 1, collect, &g, &next,
					      &err));
	ASSERT_STREQ(g.b.buf, "a & b.yaml=\"0x8DBE3D1B1A2C3D4\";dir/x.yaml=\"0x8DBE3D1B1A2C3D5\";");
	ASSERT_STREQ(next, "2!92!MDAw");
	free(next);
	ASSERT_EQ(bucket_azure_ops.error(NULL, &resp, "w", &nb, &err), -EACCES);
	ASSERT_STREQ(err.msg, "w: AuthenticationFailed: Server failed to authenticate the "
			      "request. (Signed expiry time [Tue, 01 Dec 2026 00:00:00 GMT] must "
			      "be after signed start time)");
	resp.status = 404;
	resp.body = "";
	resp.body_len = 0;
	resp.headers = "x-ms-error-code: ContainerNotFound\r\n";
	resp.headers_len = strlen(resp.headers);
	ASSERT_EQ(bucket_azure_ops.error(NULL, &resp, "w", &nb, &err), -ENOENT);
	ASSERT(nb);
	buf_release(&g.b);
}

/* Flux's index digest: sha256 of "<key> <etag>\n" in bytewise key order. */
TEST(revision_sorted_index)
{
	struct bucket_entry v[] = { { (char *)"b/c.yaml", (char *)"\"0x8D\"" },
				    { (char *)"a.yaml", (char *)"etag1" } };
	char rev[ARTIFACT_DIGEST_MAX];

	bucket_revision(v, 2, rev);
	ASSERT_STREQ(rev, "sha256:8762c5dc7449e06f22d13f74a9c7da7f71fb15fa510512e466385bfdcf467951");
	ASSERT_STREQ(v[0].key, "a.yaml");
	bucket_revision(v, 0, rev);
	ASSERT_STREQ(rev, "sha256:" EMPTY);
}

TEST(uri_encoding)
{
	struct buf b = BUF_INIT(256);
	char *d;

	buf_release(&b);
	d = bucket__uri_decode("a+b%2Fc%7e", 10, true);
	ASSERT_STREQ(d, "a b/c~");
	free(d);
	ASSERT_NULL(bucket__uri_decode("a%2", 3, false));
	ASSERT_NULL(bucket__uri_decode("a%zz", 4, false));
}

static int deep_cb(const char *path, const char *text, size_t len, void *payload)
{
	(void)path, (void)text, (void)len, (void)payload;
	return 0;
}

TEST(xml_limits)
{
	struct buf b = BUF_INIT(1u << 20);
	struct op_err err;
	int i;

	for (i = 0; i < XML_MAX_DEPTH + 1; i++)
		(void)buf_adds(&b, "<a>");
	ASSERT_EQ(xml_walk(b.buf, b.len, deep_cb, NULL, &err), -EFBIG);
	buf_reset(&b);
	(void)buf_adds(&b, "<a>");
	for (i = 0; i < (int)XML_MAX_TEXT + 1; i++)
		(void)buf_addch(&b, 'x');
	(void)buf_adds(&b, "</a>");
	ASSERT_EQ(xml_walk(b.buf, b.len, deep_cb, NULL, &err), -EFBIG);
	buf_release(&b);
}

/* ---- cancellation: a server that accepts and never answers ---- */

static void *cancel_later(void *payload)
{
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	atomic_store((atomic_bool *)payload, true);
	return NULL;
}

TEST(fetch_from_a_stuck_server_is_cancelled)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	char endpoint[64], *dir = xstrdup("/tmp/cflux-bucket-XXXXXX");
	struct op_err err = OP_ERR_INIT;
	struct bucket_result res;
	atomic_bool cancel = false;
	struct timespec t0, t1;
	pthread_t th;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	ASSERT(s >= 0);
	ASSERT_OK(bind(s, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_OK(listen(s, 16)); /* the kernel completes the handshake; nobody answers */
	ASSERT_OK(getsockname(s, (struct sockaddr *)&sa, &sl));
	snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", ntohs(sa.sin_port));
	ASSERT_NOT_NULL(mkdtemp(dir));
	{
		struct bucket_opts o = { .provider = BUCKET_S3, .endpoint = endpoint, .bucket = "b",
					 .region = "us-east-1", .insecure = true, .timeout_s = 60,
					 .cancel = &cancel, .dir = dir,
					 .lim = ARTIFACT_LIMITS_DEFAULT };

		ASSERT_OK(pthread_create(&th, NULL, cancel_later, &cancel));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = bucket_fetch(&o, &res, &err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ASSERT_OK(pthread_join(th, NULL));
		ASSERT_EQ(r, -ECANCELED);
		ASSERT_EQ(err.code, -ECANCELED);
		ASSERT_NOT_NULL(strstr(err.msg, "cancelled"));
		/* Within a few polls of the flag, not at the 60 s deadline. */
		ASSERT(t1.tv_sec - t0.tv_sec < 5);

		/* Already set: nothing starts. */
		r = bucket_fetch(&o, &res, &err);
		ASSERT_EQ(r, -ECANCELED);
	}
	close(s);
	rmdir(dir);
	free(dir);
}
