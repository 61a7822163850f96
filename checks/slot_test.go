package checks

var slotCases = []ruleCase{}
