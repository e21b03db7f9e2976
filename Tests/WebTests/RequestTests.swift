import Testing
import Web

/// What middleware leaves for the page: each key finds its own value, of its own type.
@Suite struct RequestStorageTests {
    enum Name: RequestStorageKey { typealias Value = String }
    enum Count: RequestStorageKey { typealias Value = Int }
    enum Tags: RequestStorageKey { typealias Value = [String] }
    enum Slot<T>: RequestStorageKey { typealias Value = T }
    protocol Shape { var sides: Int { get } }
    struct Square: Shape { let sides = 4 }
    enum AnyShape: RequestStorageKey { typealias Value = any Shape }

    @Test func eachKeyKeepsItsOwnValue() {
        var s = RequestStorage()
        #expect(s[Name.self] == nil)
        s[Name.self] = "ada"
        s[Count.self] = 3
        s[Tags.self] = ["a", "b"]
        s[AnyShape.self] = Square()
        #expect(s[Name.self] == "ada")
        #expect(s[Count.self] == 3)
        #expect(s[Tags.self] == ["a", "b"])
        #expect(s[AnyShape.self]?.sides == 4)
        // The same generic key with two types is two keys.
        s[Slot<Int>.self] = 7
        s[Slot<String>.self] = "seven"
        #expect(s[Slot<Int>.self] == 7)
        #expect(s[Slot<String>.self] == "seven")
    }

    @Test func replacingAndRemovingLeaveTheOthers() {
        var s = RequestStorage()
        s[Name.self] = "ada"
        s[Count.self] = 1
        s[Name.self] = "grace"
        #expect(s[Name.self] == "grace")
        s[Count.self] = nil
        #expect(s[Count.self] == nil)
        #expect(s[Name.self] == "grace")
        s[Count.self] = nil  // removing what is absent changes nothing
        s[Count.self] = 2
        #expect(s[Count.self] == 2 && s[Name.self] == "grace")
    }

    @Test func aCopyKeepsItsValues() {
        var a = RequestStorage()
        a[Name.self] = "ada"
        var b = a
        b[Name.self] = "grace"
        b[Count.self] = 5
        #expect(a[Name.self] == "ada")
        #expect(a[Count.self] == nil)
        #expect(b[Name.self] == "grace")
    }
}

/// Request ids: the second they were made, then 64 bits that make each one unique.
@Suite struct RequestIDTests {
    @Test func idsAreUniqueAndSayWhenTheyWereMade() {
        var seen = Set<String>()
        for _ in 0..<50_000 { seen.insert(Request.makeID(now: 1_796_586_911)) }
        #expect(seen.count == 50_000)
        let id = Request.makeID(now: 0x6B12_34AF)
        #expect(id.count == 24 && id.hasPrefix("6b1234af"))
        #expect(id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        // The random part is not a visible counter: two ids in a row differ in many digits.
        let a = Array(Request.makeID(now: 1).utf8.dropFirst(8)), b = Array(Request.makeID(now: 1).utf8.dropFirst(8))
        #expect(zip(a, b).filter { $0 != $1 }.count >= 6)
    }
}
