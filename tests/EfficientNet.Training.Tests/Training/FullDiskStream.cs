namespace EfficientNet.Training.Tests.Training;

/// <summary>
/// A stream onto a disk that fills up: it passes the first <c>room</c> bytes to the file, then fails every write with
/// the <see cref="IOException"/> .NET raises for ENOSPC on Linux (HResult 28, "No space left on device : 'path'").
/// Works as root and non-root, without mounting a small file system.
/// </summary>
internal sealed class FullDiskStream(Stream inner, string path, long room) : Stream
{
    /// <summary>errno ENOSPC on Linux, which .NET puts in the exception's HResult.</summary>
    public const int NoSpace = 28;

    private long _room = room;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        int fits = (int)Math.Min(buffer.Length, _room);
        inner.Write(buffer[..fits]);
        _room -= fits;
        if (fits < buffer.Length) throw new IOException($"No space left on device : '{path}'", NoSpace);
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush() => inner.Flush();

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => inner.Length;

    public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
