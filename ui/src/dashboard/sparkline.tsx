/** A small SVG line chart of the last values, no chart library. */

/** One series: its values (null: no data at that point) and its CSS class. */
export interface Series {
  values: readonly (number | null)[];
  className: string;
}

/** Lines scaled to the largest value shown, with that value as the label. */
export function Sparkline(
  { series, width = 320, height = 64, unit, label }: {
    series: Series[];
    width?: number;
    height?: number;
    unit: string;
    label: string;
  },
) {
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const max = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== null) as number[]));
  const x = (i: number) => (n === 1 ? width : (i / (n - 1)) * width);
  const y = (v: number) => height - 2 - (v / max) * (height - 4);
  return (
    <svg
      class="spark"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={label}
    >
      <text x="4" y="12" class="spark-max">{`${Math.round(max)} ${unit}`}</text>
      {series.map((s) => {
        const pts = s.values.map((v, i) =>
          v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`
        )
          .filter((p) => p !== null);
        return <polyline key={s.className} class={s.className} points={pts.join(" ")} />;
      })}
    </svg>
  );
}
