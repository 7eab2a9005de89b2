import Dispatch
import Foundation
import Synchronization

/// SIGINT and SIGTERM, turned from "die now" into "stop cleanly": the run is cancelled,
/// copies in flight abort (temporary files removed, S3 uploads aborted), the summary is
/// printed, and the exit code is 128 + the signal, as a shell reports it. A second
/// signal of the same kind kills at once.
final class StopSignals {
    private let sources: [any DispatchSourceSignal]
    private let first = FirstSignal()

    /// The first signal, set from the signal sources' queue.
    private final class FirstSignal: Sendable {
        let number = Mutex<Int32?>(nil)
    }

    init(onStop: @escaping @Sendable () -> Void) {
        var sources: [any DispatchSourceSignal] = []
        let first = self.first
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let repeated = first.number.withLock { received in
                    defer { received = received ?? number }
                    return received == number
                }
                if repeated {
                    signal(number, SIG_DFL)
                    kill(getpid(), number)
                }
                onStop()
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    /// The first signal received, if any.
    var received: Int32? { first.number.withLock { $0 } }
}
