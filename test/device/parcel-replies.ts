/**
 * `service call iphonesubinfo` replies in the format phones print them (the Parcel dump of
 * `service`: 32-bit words in hex, four to a line with the byte offset, and an ASCII column).
 * The values are made up; the layout is that of Android's `service` tool.
 */
export const REPLY = {
  imei: `Result: Parcel(
  0x00000000: 00000000 0000000f 00360038 00340035 '........8.6.5.4.'
  0x00000010: 00320033 00300031 00320031 00340033 '3.2.1.0.1.2.3.4.'
  0x00000020: 00360035 00000034                   '5.6.4...        ')`,
  imsi: `Result: Parcel(
  0x00000000: 00000000 0000000f 00360034 00300030 '........4.6.0.0.'
  0x00000010: 00310030 00330032 00350034 00370036 '0.1.2.3.4.5.6.7.'
  0x00000020: 00390038 00000030                   '8.9.0...        ')`,
  iccid: `Result: Parcel(
  0x00000000: 00000000 00000014 00390038 00360038 '........8.9.8.6.'
  0x00000010: 00300030 00320031 00340033 00360035 '0.0.1.2.3.4.5.6.'
  0x00000020: 00380037 00300039 00320031 00340033 '7.8.9.0.1.2.3.4.'
  0x00000030: 00000000                            '....            ')`,
  msisdn: `Result: Parcel(
  0x00000000: 00000000 0000000e 0038002b 00310036 '........+.8.6.1.'
  0x00000010: 00390033 00320031 00340033 00360035 '3.9.1.2.3.4.5.6.'
  0x00000020: 00380037 00000000                   '7.8.....        ')`,
  /** A null String: the SIM does not store the value. */
  null: `Result: Parcel(00000000 ffffffff   '........')`,
  /** An empty String. */
  empty: `Result: Parcel(00000000 00000000   '........')`,
  /** SecurityException (-1) with its message, as Android 10+ answers an app without privilege. */
  security: `Result: Parcel(
  0x00000000: ffffffff 00000057 00650067 00440074 '....W...g.e.t.D.'
  0x00000010: 00760065 00630069 00490065 003a0064 'e.v.i.c.e.I.d.:.'
  0x00000020: 00540020 00650068 00750020 00650073 ' .T.h.e. .u.s.e.'
  0x00000030: 00200072 00300032 00300030 00640020 'r. .2.0.0.0. .d.'
  0x00000040: 0065006f 00200073 006f006e 00200074 'o.e.s. .n.o.t. .'
  0x00000050: 0065006d 00740065 00740020 00650068 'm.e.e.t. .t.h.e.'
  0x00000060: 00720020 00710065 00690075 00650072 ' .r.e.q.u.i.r.e.'
  0x00000070: 0065006d 0074006e 00200073 006f0074 'm.e.n.t.s. .t.o.'
  0x00000080: 00610020 00630063 00730065 00200073 ' .a.c.c.e.s.s. .'
  0x00000090: 00650064 00690076 00650063 00690020 'd.e.v.i.c.e. .i.'
  0x000000a0: 00650064 0074006e 00660069 00650069 'd.e.n.t.i.f.i.e.'
  0x000000b0: 00730072 0000002e                   'r.s.....        ')`,
  /** A transaction code the interface does not have. */
  binderError: `Result: Parcel(Error: 0xffffffb6 "Not a data message")`,
};
