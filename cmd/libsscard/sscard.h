/*
 * sscard.h — libsscard, the social security card reader interface with the
 * ministry's function names (社保卡读写卡通用接口; ssc-facts.md §2).
 *
 * This hand-written header is the public contract (not the header cgo
 * generates). Build: go build -buildmode=c-shared -o libsscard.so ./cmd/libsscard
 * Link:  cc app.c -I cmd/libsscard -L. -lsscard
 *
 * Conventions
 *  - Every function returns 0 on success or a negative SSC_E_* code; on
 *    failure pOutInfo (when not NULL) holds a one-line message.
 *  - Output strings are NUL-terminated, '|'-separated with a trailing '|',
 *    hex in uppercase, GBK by default (UTF-8 with SSC_CHARSET=utf-8).
 *  - The library never writes more than the SSC_MAX_* bytes stated for each
 *    output buffer (NUL included): an answer that would not fit gives
 *    SSC_E_OUTPUT_TOO_LONG instead. Allocate at least that much.
 *  - Input strings longer than their SSC_MAX_*_IN limit are refused unread.
 *  - A NULL pointer gives SSC_E_NULL_ARG; nothing is sent to the card.
 *  - iType: 1 contact, 2 contactless, 3 auto (contact first),
 *    4 auto (contactless first); with one reader configured all map to it.
 *  - Thread-safe: calls on one reader are serialised; the HSM steps belong
 *    to the process (one flow at a time, any thread may call the next step).
 *  - A failure inside the library never crashes the host: SSC_E_INTERNAL.
 *  - Configuration: environment and /etc/sscard/libsscard.conf (SSC_CONFIG
 *    names another file); see docs/c-api.md.
 */
#ifndef SSCARD_H
#define SSCARD_H

#ifdef __cplusplus
extern "C" {
#endif

/* Output buffer maxima (bytes, NUL included). */
#define SSC_MAX_OUTINFO      1024  /* pOutInfo of every function but PKI_* */
#define SSC_MAX_PKI_OUTINFO  4096  /* pOutInfo of PKI_SignData, PKI_VerifySign */
#define SSC_MAX_READER_SN     128  /* pReaderSN of iGetReaderInfo */
#define SSC_MAX_PSAM_TERM_NO   64  /* pPsamTermNo of iGetReaderInfo */

/* Input limits (bytes, NUL excluded). */
#define SSC_MAX_KEY_IN        256
#define SSC_MAX_CARDINFO_IN  1024  /* also pWriteData */
#define SSC_MAX_FILEADDR_IN   256
#define SSC_MAX_PIN_IN         16
#define SSC_MAX_DATA_IN     65536  /* pInData, pClearText */
#define SSC_MAX_CERT_IN     16384
#define SSC_MAX_SIG_IN        256

/* Return codes (stable: never renumbered). */
#define SSC_OK                       0
#define SSC_E_NULL_ARG              -1  /* a pointer argument is NULL */
#define SSC_E_ITYPE                 -2  /* iType is not 1..4 */
#define SSC_E_OUTPUT_TOO_LONG       -3  /* the answer would exceed the buffer maximum */
#define SSC_E_CONFIG                -4  /* invalid configuration */
#define SSC_E_ARG_FORMAT            -5  /* malformed or too long input (pCardInfo, iAuthType, ...) */
#define SSC_E_ADDRESS               -6  /* malformed pFileAddr */
#define SSC_E_KEY_FORMAT            -7  /* malformed or too long pKey */
#define SSC_E_NO_READER            -10  /* reader not found */
#define SSC_E_NO_CARD              -11  /* no card in the reader */
#define SSC_E_READER_UNAVAILABLE   -12  /* pcscd / reader / sscd unavailable */
#define SSC_E_CARD_REMOVED         -13  /* card removed or reset during the call */
#define SSC_E_BUSY                 -14  /* reader busy, or an HSM flow is pending */
#define SSC_E_TIMEOUT              -15  /* card or reader timed out */
#define SSC_E_NOT_SSC              -16  /* not a social security card */
#define SSC_E_CARD_ERROR           -17  /* the card refused (status word in the message) */
#define SSC_E_WRONG_CARD           -18  /* not the card pCardInfo names */
#define SSC_E_CARD_BLOCKED         -19  /* SSSE application blocked */
#define SSC_E_NEEDS_HSM            -20  /* protected data needs the HSM step */
#define SSC_E_NOT_GENUINE          -21  /* internal authentication failed: card not genuine, nothing read */
#define SSC_E_HSM_ANSWER           -22  /* the key system's answer is for another request */
#define SSC_E_NO_STEP1             -23  /* no pending step 1 (never called, done or timed out) */
#define SSC_E_HSM                  -24  /* key system failed or not configured */
#define SSC_E_EXTERNAL_AUTH        -25  /* the card rejected the key system's cryptogram */
#define SSC_E_STEP_OUT_OF_ORDER    -26  /* another HSM flow or step is pending */
#define SSC_E_WRONG_PIN            -30  /* wrong PIN (tries left in the message) */
#define SSC_E_PIN_BLOCKED          -31
#define SSC_E_PIN_LAST_TRY         -32  /* one try left: refused */
#define SSC_E_NO_PINPAD            -33  /* the reader has no keypad */
#define SSC_E_PINPAD_CANCELLED     -34
#define SSC_E_PINPAD_TIMEOUT       -35
#define SSC_E_PIN_FORMAT           -36  /* a PIN argument is not 6 digits */
#define SSC_E_NO_PKI               -40  /* no PKI application / key */
#define SSC_E_SIGNATURE_INVALID    -41
#define SSC_E_CERTIFICATE          -42  /* pCert is not base64 SM2 DER */
#define SSC_E_WRITE_DISABLED       -50  /* writing is off (allow_write) */
#define SSC_E_NOT_SUPPORTED        -51  /* the old purse functions (iDoDebit, iReadDebitRecord) */
#define SSC_E_NOT_WRITABLE         -52  /* pFileAddr names an item iWriteCard cannot write */
#define SSC_E_WRITE_DATA           -53  /* pWriteData: wrong count or an invalid value (field named) */
#define SSC_E_WRITE_MISMATCH       -54  /* a written item reads back different (field named) */
#define SSC_E_INTERNAL             -99  /* internal error caught; the host is unaffected */

/* --- Basic information ------------------------------------------------- */

/* pOutInfo (SSC_MAX_OUTINFO): the 11-field string
 *   region|SSN|cardNo|cardID|name|ATRhist|version|issue|expiry|terminalNo|deviceNo|
 * (9 fields when no terminal_no/device_no is configured). A 3rd-gen card
 * gives SSN, card number and name empty: they need the HSM steps. */
long iReadCardBas(int iType, char* pOutInfo);

/* Step 1: pOutInfo = region|ATRhist|03|cardID|F1|O1|F2|O2| for the key
 * system. The card is held (no reset, no other command) until step 2 or
 * the timeout (hsm_timeout, default 60 s). */
long iReadCardBas_HSM_Step1(int iType, char* pOutInfo);
/* Step 2: pKey = RESULT1|RESULT2| (2 x 32 hex). pOutInfo = the full
 * iReadCardBas string. A wrong key: SSC_E_NOT_GENUINE / SSC_E_HSM_ANSWER /
 * SSC_E_EXTERNAL_AUTH, nothing read. */
long iReadCardBas_HSM_Step2(char* pKey, char* pOutInfo);

/* Extension (not a ministry name): iReadCardBas with the whole HSM round
 * trip made by the library with the configured key system (SSC_HSM), or by
 * sscd with its own. */
long ssc_ReadCardBas_HSM(int iType, char* pOutInfo);

/* Extension: the library's version and the commit it was built from,
 * pOutInfo = version|commit| (as `sscd --version` and `sscctl version` say;
 * the Debian package version is built from the same string). */
long ssc_GetVersion(char* pOutInfo);

/* --- Generic read / write (SIM syntax, docs/c-api.md) ------------------- */

/* pFileAddr: "SSSE|EF05|01|07|EF06|08|09|" — application, then each file
 * and its data items (record tags, 2 uppercase hex digits).
 * pCardInfo: "" (any card), the 32-hex 卡识别码, or an iReadCardBas string.
 * iAuthType: 0 none (3rd-gen protected items: SSC_E_NEEDS_HSM),
 *            1 authenticate with the configured key system first.
 * pOutInfo (SSC_MAX_OUTINFO): the values in the order asked, each + '|'. */
long iReadCard(int iType, int iAuthType, char* pCardInfo, char* pFileAddr, char* pOutInfo);
long iReadCard_HSM_Step1(int iType, char* pCardInfo, char* pFileAddr, char* pOutInfo);
long iReadCard_HSM_Step2(char* pKey, char* pOutInfo);

/* Writing: SSC_E_WRITE_DISABLED unless allow_write=1. pFileAddr as for
 * iReadCard, writable items only (EF05 01 04 05 06 07, EF06 08 09 4E 0A 0B
 * 0D; others SSC_E_NOT_WRITABLE). pWriteData: one value per item, in the
 * address's order, each + '|' (e.g. "20351231|" for SSSE|EF05|06|), checked
 * like issuance data together with the card's other fields
 * (SSC_E_WRITE_DATA names the field). Every written item is read back and
 * compared (SSC_E_WRITE_MISMATCH). pOutInfo = "OK|". Through sscd the
 * daemon writes (its update endpoints; allow_write still applies here).
 * iWriteCard: both key-system round trips with the configured SSC_HSM (or
 * the daemon's). */
long iWriteCard(int iType, char* pCardInfo, char* pFileAddr, char* pWriteData, char* pOutInfo);
/* The HSM steps (SIM choice, docs/c-api.md): the read key and the write key
 * are two round trips, so a third step (an extension) follows.
 * Step 1: pOutInfo = region|ATRhist|03|cardID|F1|O1|F2|O2| (read key). */
long iWriteCard_HSM_Step1(int iType, char* pCardInfo, char* pFileAddr, char* pOutInfo);
/* Step 2: pKey = RESULT1|RESULT2|; the card is authenticated and the data
 * checked; pOutInfo = region|ATRhist|03|cardID|KEYFAC|ODATA| (write key). */
long iWriteCard_HSM_Step2(char* pKey, char* pWriteData, char* pOutInfo);
/* Step 3: pKey = RESULT| (C||ODATA, 32 hex); writes and reads back;
 * pOutInfo = "OK|". A rejected cryptogram: SSC_E_EXTERNAL_AUTH, nothing
 * written. */
long iWriteCard_HSM_Step3(char* pKey, char* pOutInfo);

/* --- PIN (SSSE) ---------------------------------------------------------- */

/* The PIN is typed on the reader's keypad; a reader without one gives
 * SSC_E_NO_PINPAD. pOutInfo (SSC_MAX_OUTINFO) = "OK|" on success. The card
 * is reset afterwards. */
long iVerifyPIN(int iType, char* pOutInfo);
long iChangePIN(int iType, char* pOutInfo);

/* Reset the PIN to the configured initial PIN (initial_pin, default 123456)
 * after external authentication with the update key of the configured key
 * system (SIM). "OK|" on success. */
long iReloadPIN(int iType, char* pCardInfo, char* pOutInfo);
long iUnblockPIN(int iType, char* pCardInfo, char* pOutInfo);

/* The same with the key system outside the library (SIM strings):
 * Step1 -> the Step-1 line (as iReadCardBas_HSM_Step1);
 * Step2(pKey = RESULT1|RESULT2|) -> region|ATRhist|03|cardID|KEYFAC|ODATA|;
 * Step3(pKey = RESULT|, 32 hex) -> "OK|". */
long iReloadPIN_HSM_Step1(int iType, char* pCardInfo, char* pOutInfo);
long iReloadPIN_HSM_Step2(char* pKey, char* pOutInfo);
long iReloadPIN_HSM_Step3(char* pKey, char* pOutInfo);
long iUnblockPIN_HSM_Step1(int iType, char* pCardInfo, char* pOutInfo);
long iUnblockPIN_HSM_Step2(char* pKey, char* pOutInfo);
long iUnblockPIN_HSM_Step3(char* pKey, char* pOutInfo);

/* --- Purse (not in the card model): always SSC_E_NOT_SUPPORTED ----------- */
long iDoDebit(int iType, char* pCardInfo, char* pPayInfo, char* pOutInfo);
long iReadDebitRecord(int iType, char* pOutInfo);

/* --- Reader -------------------------------------------------------------- */

/* pReaderSN (SSC_MAX_READER_SN): the reader's name; pPsamTermNo
 * (SSC_MAX_PSAM_TERM_NO): the configured terminal number (terminal_no). */
long iGetReaderInfo(char* pReaderSN, char* pPsamTermNo);

/* --- PKI (SM2) ----------------------------------------------------------- */

/* pUserPin: the PKI user PIN (6 digits). pInData: the message bytes.
 * pOutInfo (SSC_MAX_PKI_OUTINFO): SIGNATURE|CERT| — r||s as 128 hex digits,
 * the signing certificate as base64 DER. */
long PKI_SignData(char* pUserPin, char* pInData, int iType, char* pOutInfo);
/* pCert: base64 DER ("" = the card's signing certificate); pSignature:
 * 128 hex digits. pUserPin is not needed ("" or 6 digits). "OK|" when the
 * signature verifies, SSC_E_SIGNATURE_INVALID otherwise. */
long PKI_VerifySign(char* pUserPin, char* pCert, char* pClearText, char* pSignature, int iType, char* pOutInfo);

#ifdef __cplusplus
}
#endif
#endif /* SSCARD_H */
