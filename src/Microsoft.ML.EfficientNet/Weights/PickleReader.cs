using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Microsoft.ML.EfficientNet.Weights;

/// <summary>A Python global (<c>module.name</c>) referenced by a pickle, for example <c>torch._utils._rebuild_tensor_v2</c>.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => Module + "." + Name;
}

/// <summary>An instance of a Python class the reader does not model; it keeps the arguments and state for inspection.</summary>
internal sealed class PickleObject(PickleGlobal type, object?[] arguments)
{
    public PickleGlobal Type { get; } = type;
    public object?[] Arguments { get; } = arguments;
    public object? State { get; set; }
    public override string ToString() => Type.FullName;
}

/// <summary>
/// A minimal pickle virtual machine for the files <c>torch.save</c> writes (protocols 2–5). No code is ever executed:
/// a global outside <paramref name="allowedGlobals"/> is refused the moment the pickle names it; allowed globals become
/// <see cref="PickleGlobal"/> markers, and calls are resolved by <paramref name="reduce"/> (for
/// the torch rebuild functions) or kept as inert <see cref="PickleObject"/>s. Persistent ids (tensor storages) are
/// resolved by <paramref name="persistentLoad"/>.
/// </summary>
/// <remarks>Written by hand because no .NET pickle library is available without TorchSharp (Razorvine.Pickle comes with
/// TorchSharp.PyBridge), and this library must not depend on TorchSharp.</remarks>
internal sealed class PickleReader(
    Func<object?, object?> persistentLoad,
    Func<PickleGlobal, object?[], object?> reduce,
    IReadOnlySet<string> allowedGlobals)
{
    private static readonly object Mark = new();

    public object? Load(byte[] data, string source)
    {
        var stack = new List<object?>();
        var memo = new Dictionary<int, object?>();
        int position = 0;

        byte ReadByte() => position < data.Length ? data[position++] : throw Truncated();
        ReadOnlySpan<byte> ReadBytes(long count)
        {
            if (count < 0 || position + count > data.Length) throw Truncated();
            var slice = data.AsSpan(position, (int)count);
            position += (int)count;
            return slice;
        }
        string ReadLine()
        {
            int end = data.AsSpan(position).IndexOf((byte)'\n');
            if (end < 0) throw Truncated();
            string line = Encoding.UTF8.GetString(data, position, end);
            position += end + 1;
            return line;
        }
        InvalidDataException Truncated() => new($"The pickle in {source} ends early: the file is truncated or damaged.");
        object? Pop()
        {
            if (stack.Count == 0) throw new InvalidDataException($"The pickle in {source} is malformed (stack underflow).");
            object? top = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            return top;
        }
        List<object?> PopMark()
        {
            int mark = stack.LastIndexOf(Mark);
            if (mark < 0) throw new InvalidDataException($"The pickle in {source} is malformed (no MARK).");
            var items = stack.GetRange(mark + 1, stack.Count - mark - 1);
            stack.RemoveRange(mark, stack.Count - mark);
            return items;
        }
        void SetItems(object? target, IReadOnlyList<object?> items)
        {
            for (int i = 0; i + 1 < items.Count; i += 2)
            {
                switch (target)
                {
                    case OrderedDictionary<object, object?> dict: dict[items[i] ?? "None"] = items[i + 1]; break;
                    case PickleObject: break; // an unmodelled mapping (e.g. argparse state); its contents are not needed
                    default: throw new InvalidDataException($"The pickle in {source} sets items on a {target?.GetType().Name ?? "None"}.");
                }
            }
        }
        void Append(object? target, IEnumerable<object?> items)
        {
            if (target is List<object?> list) list.AddRange(items);
            else if (target is not PickleObject) throw new InvalidDataException($"The pickle in {source} appends to a {target?.GetType().Name ?? "None"}.");
        }

        while (true)
        {
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: ReadByte(); break;                                       // PROTO
                case 0x95: ReadBytes(8); break;                                     // FRAME (protocol 4): frames are inline
                case (byte)'.': return Pop();                                       // STOP
                case (byte)'(': stack.Add(Mark); break;                             // MARK
                case (byte)'0': Pop(); break;                                       // POP
                case (byte)'1': PopMark(); break;                                   // POP_MARK
                case (byte)'2': stack.Add(stack[^1]); break;                        // DUP
                case (byte)'N': stack.Add(null); break;                             // NONE
                case 0x88: stack.Add(true); break;                                  // NEWTRUE
                case 0x89: stack.Add(false); break;                                 // NEWFALSE
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break;   // BININT
                case (byte)'K': stack.Add((long)ReadByte()); break;                                             // BININT1
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break;  // BININT2
                case 0x8a: stack.Add(ReadLong(ReadBytes(ReadByte()))); break;                                   // LONG1
                case 0x8b: stack.Add(ReadLong(ReadBytes(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))))); break; // LONG4
                case (byte)'I': stack.Add(ParseInt(ReadLine())); break;                                         // INT
                case (byte)'L': stack.Add(long.Parse(ReadLine().TrimEnd('L'), System.Globalization.CultureInfo.InvariantCulture)); break; // LONG
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break;           // BINFLOAT
                case (byte)'F': stack.Add(double.Parse(ReadLine(), System.Globalization.CultureInfo.InvariantCulture)); break; // FLOAT
                case (byte)'X': stack.Add(Encoding.UTF8.GetString(ReadBytes(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))))); break; // BINUNICODE
                case 0x8c: stack.Add(Encoding.UTF8.GetString(ReadBytes(ReadByte()))); break;                    // SHORT_BINUNICODE
                case 0x8d: stack.Add(Encoding.UTF8.GetString(ReadBytes((long)BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8))))); break; // BINUNICODE8
                case (byte)'T': stack.Add(Encoding.Latin1.GetString(ReadBytes(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))))); break; // BINSTRING
                case (byte)'U': stack.Add(Encoding.Latin1.GetString(ReadBytes(ReadByte()))); break;             // SHORT_BINSTRING
                case (byte)'B': stack.Add(ReadBytes(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))).ToArray()); break; // BINBYTES
                case (byte)'C': stack.Add(ReadBytes(ReadByte()).ToArray()); break;                               // SHORT_BINBYTES
                case 0x8e: stack.Add(ReadBytes((long)BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8))).ToArray()); break; // BINBYTES8
                case (byte)'}': stack.Add(new OrderedDictionary<object, object?>()); break;                     // EMPTY_DICT
                case (byte)']': stack.Add(new List<object?>()); break;                                          // EMPTY_LIST
                case (byte)')': stack.Add(Array.Empty<object?>()); break;                                       // EMPTY_TUPLE
                case 0x8f: stack.Add(new List<object?>()); break;                                               // EMPTY_SET
                case (byte)'t': stack.Add(PopMark().ToArray()); break;                                          // TUPLE
                case 0x85: stack.Add(new[] { Pop() }); break;                                                   // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new[] { a, b }); break; }                  // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'l': stack.Add(PopMark()); break;                                                    // LIST
                case (byte)'d':                                                                                 // DICT
                {
                    var dict = new OrderedDictionary<object, object?>();
                    SetItems(dict, PopMark());
                    stack.Add(dict);
                    break;
                }
                case 0x91: stack.Add(PopMark()); break;                                                         // FROZENSET
                case 0x90: { var items = PopMark(); Append(stack[^1], items); break; }                          // ADDITEMS
                case (byte)'a': { var item = Pop(); Append(stack[^1], [item]); break; }                         // APPEND
                case (byte)'e': { var items = PopMark(); Append(stack[^1], items); break; }                     // APPENDS
                case (byte)'s': { var value = Pop(); var key = Pop(); SetItems(stack[^1], [key, value]); break; } // SETITEM
                case (byte)'u': { var items = PopMark(); SetItems(stack[^1], items); break; }                   // SETITEMS
                case (byte)'q': memo[ReadByte()] = stack[^1]; break;                                            // BINPUT
                case (byte)'r': memo[BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))] = stack[^1]; break;  // LONG_BINPUT
                case 0x94: memo[memo.Count] = stack[^1]; break;                                                 // MEMOIZE
                case (byte)'p': memo[(int)ParseInt(ReadLine())] = stack[^1]; break;                             // PUT
                case (byte)'h': stack.Add(Memo(ReadByte())); break;                                             // BINGET
                case (byte)'j': stack.Add(Memo(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)))); break;   // LONG_BINGET
                case (byte)'g': stack.Add(Memo((int)ParseInt(ReadLine()))); break;                              // GET
                case (byte)'c': { string module = ReadLine(); stack.Add(Allowed(new PickleGlobal(module, ReadLine()))); break; } // GLOBAL
                case 0x93:                                                                                      // STACK_GLOBAL
                {
                    var name = Pop() as string ?? throw new InvalidDataException($"The pickle in {source} names a global with a non-string.");
                    var module = Pop() as string ?? throw new InvalidDataException($"The pickle in {source} names a global with a non-string.");
                    stack.Add(Allowed(new PickleGlobal(module, name)));
                    break;
                }
                case (byte)'Q': stack.Add(persistentLoad(Pop())); break;                                        // BINPERSID
                case (byte)'R':                                                                                 // REDUCE
                case 0x81:                                                                                      // NEWOBJ
                {
                    var args = Pop() as object?[] ?? [];
                    var callable = Pop();
                    stack.Add(callable is PickleGlobal global
                        ? reduce(global, args)
                        : throw new InvalidDataException($"The pickle in {source} calls a {callable?.GetType().Name ?? "None"}, not a global."));
                    break;
                }
                case 0x92:                                                                                      // NEWOBJ_EX
                {
                    Pop();
                    var args = Pop() as object?[] ?? [];
                    var callable = (PickleGlobal)Pop()!;
                    stack.Add(reduce(callable, args));
                    break;
                }
                case (byte)'b':                                                                                 // BUILD
                {
                    var state = Pop();
                    if (stack[^1] is PickleObject target) target.State = state;
                    break; // state on dicts (state_dict._metadata) and tensors (hooks) is not needed
                }
                default:
                    throw new InvalidDataException($"The pickle in {source} uses opcode 0x{op:x2} at byte {position - 1}, which a torch checkpoint never contains.");
            }
        }

        // Refused when the global is named, before any call, tensor or later opcode: the file is never used.
        PickleGlobal Allowed(PickleGlobal global) => allowedGlobals.Contains(global.FullName)
            ? global
            : throw new InvalidDataException($"The pickle in {source} refers to the Python global '{global.FullName}', which is not on " +
                "the allow-list of a weights-only checkpoint (the tensor rebuild functions, torch storages and dtypes, collections.OrderedDict, " +
                "plain containers and scalars; what torch.load(weights_only=True) accepts). Nothing from the file was run or used. " +
                "Save only model.state_dict() or convert the file to .safetensors.");

        object? Memo(int key) => memo.TryGetValue(key, out var value)
            ? value
            : throw new InvalidDataException($"The pickle in {source} refers to memo entry {key}, which was never stored.");
    }

    private static long ParseInt(string text) => text switch
    {
        "00" => 0,
        "01" => 1,
        _ => long.Parse(text, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static long ReadLong(ReadOnlySpan<byte> littleEndianTwosComplement) =>
        (long)new BigInteger(littleEndianTwosComplement, isUnsigned: false, isBigEndian: false);
}
