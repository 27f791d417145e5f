import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  VersionColumn,
} from 'typeorm';

/**
 * The view `addresses` as a TypeORM entity (never synchronized: appendlog's migrate owns the
 * schema). The columns appendlog sets are neither inserted nor updated by TypeORM.
 */
@Entity({ name: 'addresses', synchronize: false })
export class Address {
  @PrimaryGeneratedColumn('uuid', { name: 'entry_id' })
  entryId!: string;

  @Column({ type: 'integer', insert: false, update: false })
  version!: number;

  @Column({ name: 'created_at', type: 'timestamptz', insert: false, update: false })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', insert: false, update: false })
  updatedAt!: Date;

  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'address_line_1', type: 'text', nullable: true })
  addressLine1!: string | null;

  @Column({ type: 'text', nullable: true })
  city!: string | null;

  @Column({ type: 'text', nullable: true })
  postcode!: string | null;

  @Column({ type: 'text', nullable: true })
  tel!: string | null;
}

/**
 * The same view with TypeORM's managed columns: `@VersionColumn` (save() sends
 * `version = version + 1`, which appendlog takes as the next version) and `@CreateDateColumn` /
 * `@UpdateDateColumn` (appendlog sets both times whatever TypeORM sends).
 */
@Entity({ name: 'addresses', synchronize: false })
export class ManagedAddress {
  @PrimaryGeneratedColumn('uuid', { name: 'entry_id' })
  entryId!: string;

  @VersionColumn({ type: 'integer' })
  version!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', nullable: true })
  city!: string | null;
}
