package events

import "errors"

// The unified social credit code (统一社会信用代码, GB 32100-2015) is 18 characters from a
// 31-character alphabet (digits and upper-case letters without I, O, Z, S, V). The last character
// is a check character over the first 17, weighted 3^i mod 31.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// usccValue maps a byte to its value in usccAlphabet plus one; 0 outside the alphabet.
var usccValue = func() (t [256]int8) {
	for i := 0; i < len(usccAlphabet); i++ {
		t[usccAlphabet[i]] = int8(i + 1)
	}
	return t
}()

// Errors returned by CheckUSCC; the gateway maps them to field rules.
var (
	ErrUSCCLength   = errors.New("must be 18 characters")
	ErrUSCCAlphabet = errors.New("may only use digits and upper-case letters other than I, O, Z, S, V")
	ErrUSCCCheck    = errors.New("check character does not match (GB 32100-2015)")
)

// USCCCheckChar computes the check character for the first 17 characters of a code. ok is false
// when prefix is not 17 characters of the code alphabet.
func USCCCheckChar(prefix string) (c byte, ok bool) {
	if len(prefix) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := int(usccValue[prefix[i]]) - 1
		if v < 0 {
			return 0, false
		}
		sum += v * usccWeights[i]
	}
	return usccAlphabet[(31-sum%31)%31], true
}

// CheckUSCC reports whether code is a well-formed unified social credit code with a correct check
// character.
func CheckUSCC(code string) error {
	if len(code) != 18 {
		return ErrUSCCLength
	}
	for i := 0; i < 18; i++ {
		if usccValue[code[i]] == 0 {
			return ErrUSCCAlphabet
		}
	}
	if c, _ := USCCCheckChar(code[:17]); c != code[17] {
		return ErrUSCCCheck
	}
	return nil
}
