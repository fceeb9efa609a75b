/*
 * pcscloop: the plain-C baseline for BenchmarkPCSCTransmit. It sends the same
 * APDU N times through libpcsclite to one reader and prints the mean round
 * trip, so the Go SDK's overhead on top of PC/SC can be measured against it.
 *
 *   cc -O2 -o pcscloop pcscloop.c $(pkg-config --cflags --libs libpcsclite)
 *   ./pcscloop "Virtual PCD 00 00" 00A40000023F00 20000
 */
#include <PCSC/winscard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int parse_hex(const char *s, unsigned char *out, size_t max) {
	size_t n = 0;
	while (s[0] && s[1]) {
		unsigned int v;
		if (n == max || sscanf(s, "%2x", &v) != 1)
			return -1;
		out[n++] = (unsigned char)v;
		s += 2;
	}
	return s[0] ? -1 : (int)n;
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: %s READER APDU-HEX COUNT\n", argv[0]);
		return 2;
	}
	unsigned char cmd[261], resp[258];
	int cmdlen = parse_hex(argv[2], cmd, sizeof cmd);
	long count = atol(argv[3]);
	if (cmdlen < 4 || count <= 0) {
		fprintf(stderr, "bad APDU or count\n");
		return 2;
	}
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD proto;
	LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv == SCARD_S_SUCCESS)
		rv = SCardConnect(ctx, argv[1], SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &proto);
	if (rv != SCARD_S_SUCCESS) {
		fprintf(stderr, "pcsc: %s\n", pcsc_stringify_error(rv));
		return 1;
	}
	const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < count; i++) {
		DWORD rlen = sizeof resp;
		rv = SCardTransmit(card, pci, cmd, (DWORD)cmdlen, NULL, resp, &rlen);
		if (rv != SCARD_S_SUCCESS || rlen < 2) {
			fprintf(stderr, "transmit %ld: %s\n", i, pcsc_stringify_error(rv));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	printf("pcscloop\t%ld\t%.0f ns/op\n", count, ns / (double)count);
	SCardDisconnect(card, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	return 0;
}
