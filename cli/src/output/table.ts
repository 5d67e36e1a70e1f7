/** A column of a table: its heading and how to read the cell from a row. */
export interface Column<Row> {
  header: string;
  get(row: Row): string;
}

/**
 * Plain aligned columns, like fly's tables: headers in the first line, two spaces between
 * columns, no trailing spaces. Plain text so it pipes into grep, awk and cut.
 */
export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => c.get(row)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]?.length ?? 0)));
  return cells
    .map((line) =>
      line
        .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
