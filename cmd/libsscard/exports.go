package main

import "C"

import (
	m "github.com/sscard/ssc/internal/ministry"
	"github.com/sscard/ssc/internal/version"
)

// The exported functions: the ministry's names, argument order and types
// (sscard.h is the commented contract). Each checks its pointers, reads its
// inputs within their limits, calls internal/ministry and copies the answer.

//export iReadCardBas
func iReadCardBas(iType C.int, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().ReadCardBas(int(iType)))
}

//export iReadCardBas_HSM_Step1
func iReadCardBas_HSM_Step1(iType C.int, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().ReadCardBasStep1(int(iType)))
}

//export iReadCardBas_HSM_Step2
func iReadCardBas_HSM_Step2(pKey *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	var key string
	if code, ok := readInputs(input{pKey, m.MaxKeyIn, m.ErrKeyFormat, &key}); !ok {
		return refuse(pOutInfo, m.MaxOutInfo, code)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().ReadCardBasStep2(key))
}

//export ssc_ReadCardBas_HSM
func ssc_ReadCardBas_HSM(iType C.int, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().ReadCardBasHSM(int(iType)))
}

//export ssc_GetVersion
func ssc_GetVersion(pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	v := version.Get()
	return answer(pOutInfo, m.MaxOutInfo, m.Result{Out: v.Version + "|" + v.Commit + "|"})
}

//export iReadCard
func iReadCard(iType C.int, iAuthType C.int, pCardInfo *C.char, pFileAddr *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	var cardInfo, addr string
	if code, ok := readInputs(input{pCardInfo, m.MaxCardInfoIn, m.ErrArgFormat, &cardInfo},
		input{pFileAddr, m.MaxAddressIn, m.ErrAddress, &addr}); !ok {
		return refuse(pOutInfo, m.MaxOutInfo, code)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().ReadCard(int(iType), int(iAuthType), cardInfo, addr))
}

//export iReadCard_HSM_Step1
func iReadCard_HSM_Step1(iType C.int, pCardInfo *C.char, pFileAddr *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	var cardInfo, addr string
	if code, ok := readInputs(input{pCardInfo, m.MaxCardInfoIn, m.ErrArgFormat, &cardInfo},
		input{pFileAddr, m.MaxAddressIn, m.ErrAddress, &addr}); !ok {
		return refuse(pOutInfo, m.MaxOutInfo, code)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().ReadCardStep1(int(iType), cardInfo, addr))
}

//export iReadCard_HSM_Step2
func iReadCard_HSM_Step2(pKey *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	var key string
	if code, ok := readInputs(input{pKey, m.MaxKeyIn, m.ErrKeyFormat, &key}); !ok {
		return refuse(pOutInfo, m.MaxOutInfo, code)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().ReadCardStep2(key))
}

//export iWriteCard
func iWriteCard(iType C.int, pCardInfo *C.char, pFileAddr *C.char, pWriteData *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	var cardInfo, addr, data string
	if code, ok := readInputs(input{pCardInfo, m.MaxCardInfoIn, m.ErrArgFormat, &cardInfo},
		input{pFileAddr, m.MaxAddressIn, m.ErrAddress, &addr},
		input{pWriteData, m.MaxCardInfoIn, m.ErrArgFormat, &data}); !ok {
		return refuse(pOutInfo, m.MaxOutInfo, code)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().WriteCard(int(iType), cardInfo, addr, data))
}

//export iWriteCard_HSM_Step1
func iWriteCard_HSM_Step1(iType C.int, pCardInfo *C.char, pFileAddr *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	var cardInfo, addr string
	if code, ok := readInputs(input{pCardInfo, m.MaxCardInfoIn, m.ErrArgFormat, &cardInfo},
		input{pFileAddr, m.MaxAddressIn, m.ErrAddress, &addr}); !ok {
		return refuse(pOutInfo, m.MaxOutInfo, code)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().WriteCardStep1(int(iType), cardInfo, addr))
}

//export iWriteCard_HSM_Step2
func iWriteCard_HSM_Step2(pKey *C.char, pWriteData *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	var key, data string
	if code, ok := readInputs(input{pKey, m.MaxKeyIn, m.ErrKeyFormat, &key},
		input{pWriteData, m.MaxCardInfoIn, m.ErrArgFormat, &data}); !ok {
		return refuse(pOutInfo, m.MaxOutInfo, code)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().WriteCardStep2(key, data))
}

//export iWriteCard_HSM_Step3
func iWriteCard_HSM_Step3(pKey *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	return keyStep(pKey, pOutInfo, lib().WriteCardStep3)
}

//export iVerifyPIN
func iVerifyPIN(iType C.int, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().VerifyPIN(int(iType)))
}

//export iChangePIN
func iChangePIN(iType C.int, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().ChangePIN(int(iType)))
}

// pinReset is the shape of iReloadPIN, iUnblockPIN and their Step1.
func pinReset(iType C.int, pCardInfo, pOutInfo *C.char, f func(int, string) m.Result) C.long {
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	var cardInfo string
	if code, ok := readInputs(input{pCardInfo, m.MaxCardInfoIn, m.ErrArgFormat, &cardInfo}); !ok {
		return refuse(pOutInfo, m.MaxOutInfo, code)
	}
	return answer(pOutInfo, m.MaxOutInfo, f(int(iType), cardInfo))
}

// keyStep is the shape of the Step2/Step3 functions taking pKey.
func keyStep(pKey, pOutInfo *C.char, f func(string) m.Result) C.long {
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	var key string
	if code, ok := readInputs(input{pKey, m.MaxKeyIn, m.ErrKeyFormat, &key}); !ok {
		return refuse(pOutInfo, m.MaxOutInfo, code)
	}
	return answer(pOutInfo, m.MaxOutInfo, f(key))
}

//export iReloadPIN
func iReloadPIN(iType C.int, pCardInfo *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	return pinReset(iType, pCardInfo, pOutInfo, lib().ReloadPIN)
}

//export iUnblockPIN
func iUnblockPIN(iType C.int, pCardInfo *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	return pinReset(iType, pCardInfo, pOutInfo, lib().UnblockPIN)
}

//export iReloadPIN_HSM_Step1
func iReloadPIN_HSM_Step1(iType C.int, pCardInfo *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	return pinReset(iType, pCardInfo, pOutInfo, lib().ReloadPINStep1)
}

//export iReloadPIN_HSM_Step2
func iReloadPIN_HSM_Step2(pKey *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	return keyStep(pKey, pOutInfo, lib().ReloadPINStep2)
}

//export iReloadPIN_HSM_Step3
func iReloadPIN_HSM_Step3(pKey *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	return keyStep(pKey, pOutInfo, lib().ReloadPINStep3)
}

//export iUnblockPIN_HSM_Step1
func iUnblockPIN_HSM_Step1(iType C.int, pCardInfo *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	return pinReset(iType, pCardInfo, pOutInfo, lib().UnblockPINStep1)
}

//export iUnblockPIN_HSM_Step2
func iUnblockPIN_HSM_Step2(pKey *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	return keyStep(pKey, pOutInfo, lib().UnblockPINStep2)
}

//export iUnblockPIN_HSM_Step3
func iUnblockPIN_HSM_Step3(pKey *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	return keyStep(pKey, pOutInfo, lib().UnblockPINStep3)
}

//export iDoDebit
func iDoDebit(iType C.int, pCardInfo *C.char, pPayInfo *C.char, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil || pCardInfo == nil || pPayInfo == nil {
		return refuse(pOutInfo, m.MaxOutInfo, m.ErrNullArg)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().DoDebit(int(iType)))
}

//export iReadDebitRecord
func iReadDebitRecord(iType C.int, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	return answer(pOutInfo, m.MaxOutInfo, lib().ReadDebitRecord(int(iType)))
}

//export iGetReaderInfo
func iGetReaderInfo(pReaderSN *C.char, pPsamTermNo *C.char) (ret C.long) {
	defer guard(&ret, pReaderSN, m.MaxReaderSN)
	if pReaderSN == nil || pPsamTermNo == nil {
		return refuse(pReaderSN, m.MaxReaderSN, m.ErrNullArg)
	}
	sn, term := lib().GetReaderInfo()
	code := answer(pReaderSN, m.MaxReaderSN, sn)
	if code != 0 {
		write(pPsamTermNo, m.MaxPsamTermNo, nil)
		return code
	}
	tcode, b := m.Encode(m.Result{Out: term}, m.MaxPsamTermNo, true)
	if tcode != 0 {
		write(pPsamTermNo, m.MaxPsamTermNo, nil)
		return answer(pReaderSN, m.MaxReaderSN, m.Result{Code: tcode, Out: tcode.Message()})
	}
	write(pPsamTermNo, m.MaxPsamTermNo, b)
	return 0
}

//export PKI_SignData
func PKI_SignData(pUserPin *C.char, pInData *C.char, iType C.int, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxPKIOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	var pin, data string
	if code, ok := readInputs(input{pUserPin, m.MaxPINIn, m.ErrPINFormat, &pin},
		input{pInData, m.MaxDataIn, m.ErrArgFormat, &data}); !ok {
		return refuse(pOutInfo, m.MaxPKIOutInfo, code)
	}
	return answer(pOutInfo, m.MaxPKIOutInfo, lib().SignData(pin, data, int(iType)))
}

//export PKI_VerifySign
func PKI_VerifySign(pUserPin *C.char, pCert *C.char, pClearText *C.char, pSignature *C.char, iType C.int, pOutInfo *C.char) (ret C.long) {
	defer guard(&ret, pOutInfo, m.MaxPKIOutInfo)
	if pOutInfo == nil {
		return C.long(m.ErrNullArg)
	}
	var pin, cert, clear, sig string
	if code, ok := readInputs(input{pUserPin, m.MaxPINIn, m.ErrPINFormat, &pin},
		input{pCert, m.MaxCertIn, m.ErrCertificate, &cert},
		input{pClearText, m.MaxDataIn, m.ErrArgFormat, &clear},
		input{pSignature, m.MaxSigIn, m.ErrArgFormat, &sig}); !ok {
		return refuse(pOutInfo, m.MaxPKIOutInfo, code)
	}
	return answer(pOutInfo, m.MaxPKIOutInfo, lib().VerifySign(pin, cert, clear, sig, int(iType)))
}
