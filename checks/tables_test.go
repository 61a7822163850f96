package checks

var tablesCases = []ruleCase{}
