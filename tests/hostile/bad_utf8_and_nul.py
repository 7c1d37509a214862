# expect: no_output
import sys
sys.stdout.buffer.write(b"bad \xff\xfe bytes \x00 nul \xc3 end\n")
sys.stderr.buffer.write(b"\x00\x01\x02 \xed\xa0\x80 surrogate\n")
