import Testing
import TestSupport
import Web

@Suite struct CSVTests {
    @Test(arguments: [
        // plain text stays as it is
        ("plain", "plain"),
        ("", ""),
        ("Ada Lovelace", "Ada Lovelace"),
        ("ünïcødé ✓", "ünïcødé ✓"),
        // RFC 4180: comma, quote, CR, LF force quotes; quotes are doubled
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("\"", "\"\"\"\""),
        ("line1\nline2", "\"line1\nline2\""),
        ("line1\r\nline2", "\"line1\r\nline2\""),
        ("a\rb", "\"a\rb\""),
        // formula starts get an apostrophe (and are quoted when they need it anyway)
        ("=1+1", "'=1+1"),
        ("+31 20 123", "'+31 20 123"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "\"'\rcmd\""),
        ("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
        // only the first character counts
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("'=1", "'=1"),
        ("2001:db8::1", "2001:db8::1"),
    ])
    func escapesOneField(input: String, expected: String) {
        #expect(CSVWriter.field(input) == expected)
    }

    @Test func formulaProtectionCanBeTurnedOffForTrustedColumns() {
        #expect(CSVWriter.field("-5", protectFormulas: false) == "-5")
        #expect(CSVWriter.field("=a,b", protectFormulas: false) == "\"=a,b\"")
    }

    @Test func recordsEndWithCRLFAndSeparateFieldsWithCommas() {
        var csv = CSVWriter()
        csv.append(["time", "who", "what"])
        csv.append(["2027-01-12T14:05:00Z", "Bo, \"the\" dev", "=cmd|' /C calc'!A0"])
        csv.append([])
        csv.append(["", ""])
        #expect(csv.text == "time,who,what\r\n2027-01-12T14:05:00Z,\"Bo, \"\"the\"\" dev\",'=cmd|' /C calc'!A0\r\n\r\n,\r\n")
        #expect(CSVWriter.record(["a", "b,c"]) == "a,\"b,c\"\r\n")
    }

    @Test func takeBytesHandsOverWhatWasWrittenAndStartsAgain() {
        var csv = CSVWriter()
        #expect(csv.isEmpty)
        csv.append(["é"])
        #expect(csv.takeBytes() == [0xC3, 0xA9, 13, 10])
        #expect(csv.isEmpty)
        csv.append(["x"])
        #expect(csv.takeBytes() == Array("x\r\n".utf8))
    }

    /// Reads the CSV back the way RFC 4180 defines it: every record and field survives.
    @Test func whatIsWrittenParsesBackToTheSameFields() {
        let rows = [["a", "b,c", "d\"e"], ["multi\r\nline", "", "\"quoted\""], ["ünï", " spaced ", ","]]
        var csv = CSVWriter(protectFormulas: false)
        for r in rows { csv.append(r) }
        #expect(CSVReader.parse(csv.text) == rows)
    }
}
