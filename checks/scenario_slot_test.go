package checks_test

// slotScenarios: rule → {passing scenario, non-passing scenario}.
var slotScenarios = map[string][2]string{}
