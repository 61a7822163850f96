package checks_test

// tablesScenarios: rule → {passing scenario, non-passing scenario}.
var tablesScenarios = map[string][2]string{}
