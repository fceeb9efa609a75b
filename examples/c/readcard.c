/*
 * readcard — print the card's iReadCardBas line, written only against
 * cmd/libsscard/sscard.h (portable C99: builds for x86-64 and ARM64 alike).
 *
 *   go build -buildmode=c-shared -o libsscard.so ./cmd/libsscard
 *   cc -std=c99 -I cmd/libsscard -o readcard examples/c/readcard.c -L. -lsscard
 *   LD_LIBRARY_PATH=. ./readcard [iType]
 *
 * With the HSM step (a 3rd-gen card's SSN, card number and name) the line
 * comes from ssc_ReadCardBas_HSM when "hsm" is given as second argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sscard.h"

int main(int argc, char **argv) {
	int iType = argc > 1 ? atoi(argv[1]) : 3;
	int hsm = argc > 2 && strcmp(argv[2], "hsm") == 0;
	char out[SSC_MAX_OUTINFO];
	long rc = hsm ? ssc_ReadCardBas_HSM(iType, out) : iReadCardBas(iType, out);
	if (rc != SSC_OK) {
		fprintf(stderr, "readcard: error %ld: %s\n", rc, out);
		return 1;
	}
	printf("%s\n", out);
	return 0;
}
