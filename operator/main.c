/*
 * main.c: the cflux-operator entry point.
 *
 * Today it parses its flags and prints its version or usage; the manager,
 * informers and reconcilers arrive with issue #6.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/macro.h"
#include "base/banned.h"

#ifndef CFLUX_VERSION
#define CFLUX_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
	fputs("usage: cflux-operator [--version] [--help]\n"
	      "\n"
	      "cflux keeps a Kubernetes cluster in the state a Git repository describes.\n"
	      "This build only reports its version; the reconcilers are not wired in yet.\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			printf("cflux-operator %s\n", CFLUX_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	usage(stderr);
	return 2;
}
