package sm

// CheckFuzzSeeds is checkFuzzSeeds for the external tests, which can
// import sm/simkeys for the SIM certificate seeds.
var CheckFuzzSeeds = checkFuzzSeeds
