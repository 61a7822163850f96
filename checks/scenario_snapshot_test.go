package checks_test

// snapshotScenarios: rule → {passing scenario, non-passing scenario}.
var snapshotScenarios = map[string][2]string{}
