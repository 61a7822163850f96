// Oracle answers, for the Go test in this package, what java.util.regex
// does with a pattern: whether Pattern.compile(p, CASE_INSENSITIVE) accepts
// it (Debezium compiles its filter lists that way) and which subjects
// Matcher.matches(). Input, one record per line: the pattern and then the
// subjects, each as hex-encoded UTF-8, separated by spaces. Output, one
// line per record: "E" when the pattern does not compile, else one 0 or 1
// per subject.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

public class Oracle {
    static String unhex(String h) {
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        }
        return new String(b, StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split(" ", -1);
            Pattern p;
            try {
                p = Pattern.compile(unhex(f[0]), Pattern.CASE_INSENSITIVE);
            } catch (PatternSyntaxException e) {
                out.append("E\n");
                continue;
            }
            for (int i = 1; i < f.length; i++) {
                out.append(p.matcher(unhex(f[i])).matches() ? '1' : '0');
            }
            out.append('\n');
        }
        System.out.print(out);
    }
}
