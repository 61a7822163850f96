package checks

var snapshotCases = []ruleCase{}
