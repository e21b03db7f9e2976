import Foundation
import Testing
@testable import HTTP

/// The loop's claim on a busy core: from its wake-up, or the start of a turn it woke to by
/// itself, until it sleeps again; a worker yields once the claim is a turn old.
@Suite struct LoopTurnTests {
    func pause(_ ms: Int) { usleep(UInt32(ms * 1000)) }

    @Test func aClaimLastsUntilTheLoopSleeps() {
        let turn = LoopTurn(micros: 2_000)
        #expect(!turn.isOverdue)  // asleep, wanting nothing
        turn.claim()
        #expect(!turn.isOverdue)
        pause(5)
        // Preempted in its turn: still wanting the CPU, so a worker steps aside.
        #expect(turn.isOverdue)
        turn.ended()
        #expect(!turn.isOverdue)
        pause(5)
        #expect(!turn.isOverdue)
    }

    @Test func theWakeUpStartsTheClaimAndTheTurnKeepsIt() {
        let turn = LoopTurn(micros: 2_000)
        turn.claim()
        pause(5)
        turn.claim()  // runs at last: the claim is still the wake-up's, already a turn old
        #expect(turn.isOverdue)
        turn.claim()  // woken again before sleeping: the first stamp counts
        #expect(turn.isOverdue)
        turn.ended()
        turn.claim()
        #expect(!turn.isOverdue)
    }

    @Test func zeroTurnsTheHandOverOff() {
        let turn = LoopTurn(micros: 0)
        turn.claim()
        turn.claim()
        pause(2)
        #expect(!turn.isOverdue)
    }
}
