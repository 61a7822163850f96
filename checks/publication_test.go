package checks

var publicationCases = []ruleCase{}
