/*
 * test_git_url.c: what lib/source/git.c reads from URLs — the known_hosts
 * name of a remote, and a .gitmodules URL resolved against its
 * superproject's, as git resolves them.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "source/git.h"

TEST(host_port_as_known_hosts_names_it)
{
	static const char *const v[][2] = {
		{ "ssh://git@example.com/org/repo.git", "example.com" },
		{ "ssh://git@example.com:22/org/repo.git", "example.com" },
		{ "ssh://git@10.0.0.1:2222/org/repo.git", "[10.0.0.1]:2222" },
		{ "ssh://example.com:notaport/x", "example.com" },
		{ "git@github.com:org/repo.git", "github.com" },
		{ "https://user:pw@example.com:8443/x", "[example.com]:8443" },
		{ "example.com", "example.com" },
		{ "", "" },
	};
	char out[300];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		src_git_host_port(v[i][0], out, sizeof(out));
		ASSERT_STREQ(out, v[i][1]);
	}
}

TEST(submodule_urls_resolve_as_git_does)
{
	static const char *const v[][3] = {
		{ "https://example.com/org/super.git", "../lib.git", "https://example.com/org/lib.git" },
		{ "https://example.com/org/super.git/", "./sub.git", "https://example.com/org/super.git/sub.git" },
		{ "https://example.com/org/super.git", "../../other/lib.git", "https://example.com/other/lib.git" },
		/* never above the host */
		{ "https://example.com/org/super.git", "../../../../x.git", "https://example.com/x.git" },
		{ "https://example.com", "../x.git", "https://example.com/x.git" },
		{ "https://example.com///", "../x.git", "https://example.com/x.git" },
		/* the trailing '/'s end above "://" (they were cut into it, and
		 * ":///" read as the scp-like host ":", found by make fuzz-long) */
		{ ":///", "../x.git", ":///x.git" },
		{ "https:///", "../x.git", "https:///x.git" },
		/* scp-like: climbs the path, never into "host:" (this read before the URL's start) */
		{ "git@example.com:org/super.git", "../lib.git", "git@example.com:org/lib.git" },
		{ "git@example.com:a/b/super.git", "../../lib.git", "git@example.com:a/lib.git" },
		{ "/srv/git/super.git", "../lib.git", "/srv/git/lib.git" },
		{ "https://example.com/org/super.git", "https://other.example/lib.git", "https://other.example/lib.git" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *got = src_git_submodule_url(v[i][0], v[i][1]);

		ASSERT_STREQ(got, v[i][2]);
		free(got);
	}
}
