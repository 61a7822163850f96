package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// AnnotationOptions tune GitHub Actions annotations.
type AnnotationOptions struct {
	// NameTarget puts the database in every title, for runs that judge
	// several.
	NameTarget bool
	// Workspace is the checkout's directory ($GITHUB_WORKSPACE): a config
	// file under it is named relative to it, which is how GitHub links an
	// annotation to the file.
	Workspace string
}

// annotationObjectsMax caps the objects an annotation names.
const annotationObjectsMax = 5

// GitHubAnnotations writes a workflow command per finding, so that GitHub
// shows each on the run's page and in the pull request: "::error" for what
// fails the run (fail, error, and warn at --fail-on warning), "::warning"
// for the other warnings and for the config warnings, which name the config
// file and line. Everything that is data is escaped as GitHub requires, so
// that a message from the database cannot end the command or start another.
// GitHub shows only the first ten of each kind per step: errors come first.
func GitHubAnnotations(w io.Writer, run Run, opt AnnotationOptions) error {
	var b strings.Builder
	ordered := byCategory(run.Results)
	for _, pass := range []string{"error", "warning"} {
		for _, r := range ordered {
			level := annotationLevel(run, r)
			if level != pass {
				continue
			}
			title := r.Rule
			if opt.NameTarget {
				title += " (" + annotationTarget(run) + ")"
			}
			fmt.Fprintf(&b, "::%s title=%s::%s\n", level, escapeProperty(title), escapeData(annotationText(run, r)))
		}
	}
	for _, cw := range run.Warnings {
		var props []string
		if cw.File != "" {
			props = append(props, "file="+escapeProperty(workspacePath(cw.File, opt.Workspace)))
			if cw.Line > 0 {
				props = append(props, "line="+strconv.Itoa(cw.Line))
			}
		}
		title := toolName(run) + " config"
		if opt.NameTarget {
			title += " (" + annotationTarget(run) + ")"
		}
		props = append(props, "title="+escapeProperty(title))
		fmt.Fprintf(&b, "::warning %s::%s\n", strings.Join(props, ","), escapeData(cw.Message))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write GitHub annotations: %w", err)
	}
	return nil
}

// annotationLevel is "error" for a result that makes the exit code non-zero,
// "warning" for another warning, "" for the rest.
func annotationLevel(run Run, r rules.Result) string {
	switch {
	case r.Status == rules.StatusError || rules.Failing(r, failOn(run)):
		return "error"
	case r.Status == rules.StatusWarn:
		return "warning"
	}
	return ""
}

// annotationText is a finding as an annotation's body: the message, the
// first objects, what to do and where to read more.
func annotationText(run Run, r rules.Result) string {
	var b strings.Builder
	if r.Status == rules.StatusError {
		b.WriteString("could not be judged: ")
	}
	b.WriteString(r.Message)
	if n := len(r.Objects); n > 0 {
		shown := r.Objects[:min(n, annotationObjectsMax)]
		b.WriteString("\nObjects: " + strings.Join(shown, ", "))
		if n > len(shown) {
			fmt.Fprintf(&b, " and %d more", n-len(shown))
		}
	}
	if r.Remediation != "" {
		b.WriteString("\nFix: " + r.Remediation)
	}
	fmt.Fprintf(&b, "\nRun '%s explain %s' for details.", toolName(run), r.Rule)
	return b.String()
}

// workspacePath names path relative to the workspace when it is inside it.
func workspacePath(path, workspace string) string {
	if workspace == "" || !filepath.IsAbs(path) {
		return path
	}
	rel, err := filepath.Rel(workspace, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return filepath.ToSlash(rel)
}

// escapeData escapes a workflow command's message as the runner unescapes
// it: %, CR and LF.
func escapeData(s string) string {
	// printable after: it would show CR as an escape rather than a line end.
	return printable(strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s))
}

// escapeProperty escapes a workflow command's property value: as data, and
// the ':' and ',' that would end the value.
func escapeProperty(s string) string {
	return strings.NewReplacer(":", "%3A", ",", "%2C").Replace(escapeData(s))
}

// annotationTarget names the target in a title: its name in a fleet, else
// the database.
func annotationTarget(run Run) string {
	if run.Target.Name != "" {
		return run.Target.Name
	}
	return targetLabel(run.Target)
}
