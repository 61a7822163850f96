package checks_test

// publicationScenarios: rule → {passing scenario, non-passing scenario}.
var publicationScenarios = map[string][2]string{}
