/*
 * driver — calls libsscard as a host program would, for the Go tests
 * (lib_test.go). Written only against sscard.h.
 *
 * stdin, one call a line, tab-separated:  FUNC<TAB>arg<TAB>arg...
 *   "<NULL>" is a NULL pointer, "<LONG:n>" a string of n 'A's; a FUNC
 *   starting with '!' passes NULL as the output buffer.
 *   "PAR<TAB>n<TAB>calls": n threads call iReadCardBas(1 + i%2) `calls`
 *   times each; one line per distinct answer: "T<iType><TAB>rc<TAB>out".
 * stdout, one line per call:  rc<TAB>out   (out2 of iGetReaderInfo after
 *   another tab). A buffer written past its SSC_MAX_* or without NUL
 *   prints "OVERRUN".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sscard.h"

#define CANARY 64

static char *args[8];
static int nargs;

static char *arg(int i) {
	if (i >= nargs || strcmp(args[i], "<NULL>") == 0) return NULL;
	if (strncmp(args[i], "<LONG:", 6) == 0) {
		int n = atoi(args[i] + 6);
		char *s = malloc(n + 1);
		memset(s, 'A', n);
		s[n] = 0;
		return s;
	}
	return args[i];
}
static int iarg(int i) { return i < nargs ? atoi(args[i]) : 0; }

static char *newbuf(size_t max) {
	char *b = malloc(max + CANARY);
	memset(b, 0xAA, max + CANARY);
	return b;
}
static int overrun(const char *b, size_t max) {
	for (size_t i = max; i < max + CANARY; i++)
		if ((unsigned char)b[i] != 0xAA) return 1;
	return memchr(b, 0, max) == NULL;
}

struct par { int itype, calls; char first[SSC_MAX_OUTINFO]; long rc; int mixed; };

static void *worker(void *p) {
	struct par *w = p;
	for (int i = 0; i < w->calls; i++) {
		char out[SSC_MAX_OUTINFO];
		long rc = iReadCardBas(w->itype, out);
		if (i == 0) { strcpy(w->first, out); w->rc = rc; }
		else if (rc != w->rc || strcmp(out, w->first) != 0) w->mixed = 1;
	}
	return NULL;
}

int main(void) {
	char line[1 << 17];
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		char *fn = strtok(line, "\t");
		if (!fn) continue;
		nargs = 0;
		char *t;
		while (nargs < 8 && (t = strtok(NULL, "\t"))) args[nargs++] = t;
		for (int i = 0; i < nargs; i++) if (strcmp(args[i], "<EMPTY>") == 0) args[i] = "";
		if (strcmp(fn, "PAR") == 0) {
			int n = iarg(0), calls = iarg(1);
			pthread_t th[64];
			struct par *ps = calloc(n, sizeof *ps);
			for (int i = 0; i < n; i++) {
				ps[i].itype = 1 + i % 2;
				ps[i].calls = calls;
				pthread_create(&th[i], NULL, worker, &ps[i]);
			}
			for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
			for (int i = 0; i < n; i++)
				printf("T%d\t%ld\t%s%s\n", ps[i].itype, ps[i].rc, ps[i].mixed ? "MIXED " : "", ps[i].first);
			printf("END\n");
			free(ps);
			continue;
		}
		int nullout = fn[0] == '!';
		if (nullout) fn++;
		size_t max = strncmp(fn, "PKI_", 4) == 0 ? SSC_MAX_PKI_OUTINFO : SSC_MAX_OUTINFO;
		char *b = newbuf(max), *o = nullout ? NULL : b;
		long rc;
		if (!strcmp(fn, "iReadCardBas")) rc = iReadCardBas(iarg(0), o);
		else if (!strcmp(fn, "iReadCardBas_HSM_Step1")) rc = iReadCardBas_HSM_Step1(iarg(0), o);
		else if (!strcmp(fn, "iReadCardBas_HSM_Step2")) rc = iReadCardBas_HSM_Step2(arg(0), o);
		else if (!strcmp(fn, "ssc_ReadCardBas_HSM")) rc = ssc_ReadCardBas_HSM(iarg(0), o);
		else if (!strcmp(fn, "ssc_GetVersion")) rc = ssc_GetVersion(o);
		else if (!strcmp(fn, "iReadCard")) rc = iReadCard(iarg(0), iarg(1), arg(2), arg(3), o);
		else if (!strcmp(fn, "iReadCard_HSM_Step1")) rc = iReadCard_HSM_Step1(iarg(0), arg(1), arg(2), o);
		else if (!strcmp(fn, "iReadCard_HSM_Step2")) rc = iReadCard_HSM_Step2(arg(0), o);
		else if (!strcmp(fn, "iWriteCard")) rc = iWriteCard(iarg(0), arg(1), arg(2), arg(3), o);
		else if (!strcmp(fn, "iWriteCard_HSM_Step1")) rc = iWriteCard_HSM_Step1(iarg(0), arg(1), arg(2), o);
		else if (!strcmp(fn, "iWriteCard_HSM_Step2")) rc = iWriteCard_HSM_Step2(arg(0), arg(1), o);
		else if (!strcmp(fn, "iWriteCard_HSM_Step3")) rc = iWriteCard_HSM_Step3(arg(0), o);
		else if (!strcmp(fn, "iVerifyPIN")) rc = iVerifyPIN(iarg(0), o);
		else if (!strcmp(fn, "iChangePIN")) rc = iChangePIN(iarg(0), o);
		else if (!strcmp(fn, "iReloadPIN")) rc = iReloadPIN(iarg(0), arg(1), o);
		else if (!strcmp(fn, "iUnblockPIN")) rc = iUnblockPIN(iarg(0), arg(1), o);
		else if (!strcmp(fn, "iReloadPIN_HSM_Step1")) rc = iReloadPIN_HSM_Step1(iarg(0), arg(1), o);
		else if (!strcmp(fn, "iReloadPIN_HSM_Step2")) rc = iReloadPIN_HSM_Step2(arg(0), o);
		else if (!strcmp(fn, "iReloadPIN_HSM_Step3")) rc = iReloadPIN_HSM_Step3(arg(0), o);
		else if (!strcmp(fn, "iUnblockPIN_HSM_Step1")) rc = iUnblockPIN_HSM_Step1(iarg(0), arg(1), o);
		else if (!strcmp(fn, "iUnblockPIN_HSM_Step2")) rc = iUnblockPIN_HSM_Step2(arg(0), o);
		else if (!strcmp(fn, "iUnblockPIN_HSM_Step3")) rc = iUnblockPIN_HSM_Step3(arg(0), o);
		else if (!strcmp(fn, "iDoDebit")) rc = iDoDebit(iarg(0), arg(1), arg(2), o);
		else if (!strcmp(fn, "iReadDebitRecord")) rc = iReadDebitRecord(iarg(0), o);
		else if (!strcmp(fn, "PKI_SignData")) rc = PKI_SignData(arg(0), arg(1), iarg(2), o);
		else if (!strcmp(fn, "PKI_VerifySign")) rc = PKI_VerifySign(arg(0), arg(1), arg(2), arg(3), iarg(4), o);
		else if (!strcmp(fn, "iGetReaderInfo")) {
			char *t2 = newbuf(SSC_MAX_PSAM_TERM_NO);
			free(b);
			b = newbuf(SSC_MAX_READER_SN);
			rc = iGetReaderInfo(nullout ? NULL : b, t2);
			if (overrun(t2, SSC_MAX_PSAM_TERM_NO) || (!nullout && overrun(b, SSC_MAX_READER_SN))) printf("OVERRUN\n");
			else printf("%ld\t%s\t%s\n", rc, nullout ? "" : b, t2);
			free(t2);
			free(b);
			continue;
		} else { printf("UNKNOWN\n"); free(b); continue; }
		if (nullout) {
			/* nothing may have been written anywhere */
			int touched = 0;
			for (size_t i = 0; i < max + CANARY; i++) if ((unsigned char)b[i] != 0xAA) touched = 1;
			printf("%ld\t%s\n", rc, touched ? "TOUCHED" : "");
		} else if (overrun(b, max)) printf("OVERRUN\n");
		else printf("%ld\t%s\n", rc, b);
		free(b);
	}
	return 0;
}
