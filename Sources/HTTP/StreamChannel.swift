import Foundation

/// Flow control between a worker producing a streamed body and the loop writing it.
final class StreamChannel: @unchecked Sendable {
    // `queued` and `cancelled` are guarded by `mutex`.
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var queued = 0
    private var cancelled = false
    let highWater: Int

    init(highWater: Int) {
        self.highWater = highWater
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    var isCancelled: Bool {
        pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }
        return cancelled
    }

    /// Worker: accounts for `n` bytes posted, then waits while too much is queued.
    func posted(_ n: Int) throws {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        queued += n
        while queued > highWater && !cancelled { pthread_cond_wait(&cond, &mutex) }
        if cancelled { throw StreamError.connectionClosed }
    }

    /// Loop: `n` bytes reached the socket.
    func written(_ n: Int) {
        pthread_mutex_lock(&mutex)
        queued = max(0, queued - n)
        pthread_mutex_unlock(&mutex)
        pthread_cond_broadcast(&cond)
    }

    func cancel() {
        pthread_mutex_lock(&mutex)
        cancelled = true
        pthread_mutex_unlock(&mutex)
        pthread_cond_broadcast(&cond)
    }
}

/// What a streamed body's writer throws once the connection is gone.
public enum StreamError: Error { case connectionClosed }
