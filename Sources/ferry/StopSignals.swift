import Dispatch
import Foundation
import Synchronization

/// SIGINT, SIGTERM and SIGHUP (a terminal or ssh session gone, which Nix treats as an
/// interrupt too), turned from "die now" into "stop cleanly": the run is cancelled,
/// copies in flight abort (temporary files removed, S3 uploads aborted), the summary is
/// printed, and the exit code is 128 + the signal, as a shell reports it. The same signal
/// again, a second or more after the first, kills at once. One that comes sooner is the
/// same stop: `timeout` signals Ferry and then its whole process group, so one stop often
/// arrives twice within milliseconds.
final class StopSignals {
    private let sources: [any DispatchSourceSignal]
    private let first = FirstSignal()

    /// How long after the first signal the same one means "kill at once".
    static let repeatAfter: Duration = .seconds(1)

    /// The first signal and when it came, set from the signal sources' queue.
    private final class FirstSignal: Sendable {
        let received = Mutex<(number: Int32, at: ContinuousClock.Instant)?>(nil)
    }

    /// `onStop` hears of every signal but the one that kills; `first` is true for the first.
    init(onStop: @escaping @Sendable (_ first: Bool) -> Void) {
        var sources: [any DispatchSourceSignal] = []
        let first = self.first
        // A queue of its own, with a thread of its own: on Linux the global queues are the
        // threads Swift's tasks run on, which copies that compress can keep busy for minutes.
        let queue = DispatchQueue(label: "ferry.stop-signals")
        for number in [SIGINT, SIGTERM, SIGHUP] {
            let previous = signal(number, SIG_IGN)
            // Ignored already (`nohup`): it stays ignored, and the run goes on.
            if number == SIGHUP && unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { continue }
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                let (isFirst, repeated) = first.received.withLock { received in
                    guard let earlier = received else {
                        received = (number, .now)
                        return (true, false)
                    }
                    return (false, earlier.number == number && ContinuousClock.now - earlier.at >= StopSignals.repeatAfter)
                }
                if repeated {
                    signal(number, SIG_DFL)
                    kill(getpid(), number)
                }
                onStop(isFirst)
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    /// The first signal received, if any.
    var received: Int32? { first.received.withLock { $0?.number } }
}
